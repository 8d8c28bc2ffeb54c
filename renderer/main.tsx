// Entry point. window.notesApi is set before this runs: by the Electron preload, or in a browser
// by bridge.js (app/browser-bridge.ts), loaded first by index.html.

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
if (!window.notesApi) {
  root.render(
    <main className="fatal" role="alert" data-testid="fatal-error">
      <h1>No notes host</h1>
      <p>This page runs inside the LAN Notes app, or from the link a headless peer prints (npm run peer).</p>
    </main>,
  );
} else {
  root.render(
    <StrictMode>
      <App api={window.notesApi} />
    </StrictMode>,
  );
}
