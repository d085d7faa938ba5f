// parseJsonDocument (canonical.ts) refuses bytes that are not UTF-8 with a DeserializationError that
// keeps the decoder's failure as its cause, so logs can say which check refused the metadata.

import t from 'tap';
import { DeserializationError } from '../../src/errors.js';
import { parseJsonDocument } from '../../src/trust/canonical.js';

t.test('invalid UTF-8 is METADATA_MALFORMED, caused by the decoder error', async (t) => {
  for (const bytes of [[0x7b, 0xff, 0x7d], [0x22, 0xc3, 0x22], [0xed, 0xa0, 0x80]]) {
    const err = t.throws(() => parseJsonDocument(Uint8Array.from(bytes), 'targets'), {
      constructor: DeserializationError,
      code: 'METADATA_MALFORMED',
      role: 'targets',
    }) as unknown as Error;
    t.type(err.cause, TypeError, Buffer.from(bytes).toString('hex'));
    t.equal((err.cause as { code?: unknown }).code, 'ERR_ENCODING_INVALID_ENCODED_DATA');
  }
});
