// Vite bundles imported stylesheets into dist/renderer/assets/*.css (an ambient file: no imports).
declare module '*.css';
