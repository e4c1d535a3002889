// The app's version as package.json states it (a test keeps the two equal). A constant rather
// than a read of package.json at run time, because the bundled Electron main process, the web
// preview and the CLI each find package.json somewhere else, or not at all.

export const APP_VERSION = '0.1.0';
