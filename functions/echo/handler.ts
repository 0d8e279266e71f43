/** echo: answers the request body and content type unchanged (a raw function: no input schema). */
import { defineFunction } from '@spindle/runtime';

export default defineFunction({
  handle: (req) => ({
    headers: { 'content-type': req.contentType },
    body: req.body,
  }),
});
