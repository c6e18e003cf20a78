// Tests only: @fastify/static (pulled in by Mercurius) require()s content-disposition 3, which is ESM-only, and Jest on
// Node 20 cannot require(esm). The CommonJS build of content-disposition 2 that Express uses has the same API
// (`create`, `parse`, …) and stands in for it.
module.exports = require(require('node:path').join(__dirname, '../../node_modules/content-disposition/dist/index.js'));
