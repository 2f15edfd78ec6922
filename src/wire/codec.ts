import { Packr } from 'msgpackr';

/**
 * The one msgpack configuration of the wire: plain maps as objects, no records or shared
 * structures (a peer cannot make us keep state between messages), no structured clone; byte
 * arrays travel as msgpack bin and decode as Buffers (views of the message body).
 */
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
});

export function encodeValue(value: unknown): Buffer {
  return packr.pack(value);
}

/** Throws on malformed input (the caller turns that into a protocol error). */
export function decodeValue(bytes: Uint8Array): unknown {
  return packr.unpack(bytes) as unknown;
}
