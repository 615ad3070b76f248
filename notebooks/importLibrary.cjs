// Loads one of nitrace's compiled ES modules (dist/) for a notebook. tslab turns a cell's import() into
// require(), and require() cannot load an ES module graph with top-level await (vega's has one); a dynamic
// import() in a plain CommonJS file is Node's own and loads it.
const { pathToFileURL } = require('node:url');
const { join } = require('node:path');
module.exports = (root, modulePath) => import(pathToFileURL(join(root, 'dist', modulePath)).href);
