/** Static files for a route prefix (DESIGN.md, "The proxy"). */
export { StaticFiles, type StaticFilesOptions } from './static-files.js';
