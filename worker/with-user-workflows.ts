/**
 * Workflow code, bundled only: longhaul's workflows and the user's in one module, for a worker
 * with LonghaulPlugin and workflows of its own (the bundler takes one module of workflows). The
 * plugin points `longhaul-user-workflows` at the user's workflowsPath (worker/plugin.ts).
 */
export * from '../workflows/index.js';
export * from 'longhaul-user-workflows';
