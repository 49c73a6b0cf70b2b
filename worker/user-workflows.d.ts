/** The user's workflow module, which only the plugin's bundler configuration names (worker/plugin.ts). */
declare module 'longhaul-user-workflows' {}
