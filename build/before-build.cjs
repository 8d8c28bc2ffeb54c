// electron-builder beforeBuild hook (electron-builder.yml). Resolving to false tells it that
// node_modules are handled elsewhere: it neither installs, rebuilds nor copies them. Nothing needs
// them: app/electron/build.ts bundles the whole engine (libp2p included) into dist/electron/main.js,
// node:sqlite is built into Electron, and there is no native module to rebuild.
module.exports = async function beforeBuild() {
  return false;
};
