import { describe, expect, it } from 'vitest';
import { resolveSocketOptions } from '../../../src/forward/socket-options.js';

describe('resolveSocketOptions', () => {
  it('defaults to leave and 0600 with owner and group unset', () => {
    const resolved = resolveSocketOptions({ socket: {} }, { socket: {} });
    expect(resolved).toStrictEqual({ overwriteMode: 'leave', permissionMode: 0o600 });
  });

  it('takes session values', () => {
    const resolved = resolveSocketOptions({ socket: { overwriteMode: 'overwrite', owner: 'app', group: 'id:10', permissionMode: 0o660 } }, { socket: {} });
    expect(resolved).toStrictEqual({ overwriteMode: 'overwrite', owner: 'app', group: 'id:10', permissionMode: 0o660 });
  });

  it('lets set endpoint values win and unset or empty ones fall through', () => {
    const resolved = resolveSocketOptions(
      { socket: { overwriteMode: 'overwrite', owner: 'app', group: 'staff', permissionMode: 0o660 } },
      { socket: { owner: '', group: 'id:20', permissionMode: 0o644 } },
    );
    expect(resolved).toStrictEqual({ overwriteMode: 'overwrite', owner: 'app', group: 'id:20', permissionMode: 0o644 });
  });

  it('treats a zero permission mode as unset', () => {
    expect(resolveSocketOptions({ socket: { permissionMode: 0 } }, { socket: {} }).permissionMode).toBe(0o600);
    expect(resolveSocketOptions({ socket: { permissionMode: 0o640 } }, { socket: { permissionMode: 0 } }).permissionMode).toBe(0o640);
  });
});
