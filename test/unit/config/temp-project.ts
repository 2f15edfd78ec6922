import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorMessage } from '../../../src/base/errors.js';
import { ConfigErrors } from '../../../src/config/errors.js';
import { loadProject } from '../../../src/config/load.js';
import type { DesiredProject } from '../../../src/config/project.js';

/** Temp folders for one test file: `project/` (the project folder) and `home/` ($HOME). */
export class TempProject {
  readonly root: string;
  readonly project: string;
  readonly home: string;

  constructor() {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'mutagen-config-'));
    this.project = path.join(this.root, 'project');
    this.home = path.join(this.root, 'home');
    fs.mkdirSync(this.project);
    fs.mkdirSync(this.home);
  }

  write(relative: string, text: string): string {
    const file = path.join(this.root, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  }

  /** Writes `project/mutagen.yml` and loads it. */
  load(text: string, options: { env?: Record<string, string>; globalConfiguration?: boolean } = {}): DesiredProject {
    const file = this.write('project/mutagen.yml', text);
    return loadProject(file, { home: this.home, env: options.env ?? {}, globalConfiguration: options.globalConfiguration ?? true });
  }

  /** The error lines `load` throws; fails the test when the text loads. */
  errors(text: string, options: { env?: Record<string, string>; globalConfiguration?: boolean } = {}): string {
    try {
      this.load(text, options);
    } catch (error) {
      if (error instanceof ConfigErrors) return error.errors.map((item) => item.message).join('\n');
      return `${error instanceof Error ? error.name : 'thrown'}: ${errorMessage(error)}`;
    }
    throw new Error('expected the project file to be rejected');
  }

  remove(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
