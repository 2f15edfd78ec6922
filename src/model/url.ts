import * as z from 'zod';

export const PROTOCOLS = ['local', 'ssh', 'docker'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/**
 * A parsed sync or forward URL (cli spec §4). For sync URLs `path` is the path (absolute for
 * local); for forward URLs it is the network endpoint (`tcp:127.0.0.1:80`, `unix:/x.sock`).
 */
export const endpointUrlSchema = z.strictObject({
  kind: z.enum(['sync', 'forward']),
  protocol: z.enum(PROTOCOLS),
  user: z.string().optional(),
  host: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  path: z.string(),
  environment: z.record(z.string(), z.string()).optional(),
  parameters: z.record(z.string(), z.string()).optional(),
});
export type EndpointUrl = z.infer<typeof endpointUrlSchema>;
