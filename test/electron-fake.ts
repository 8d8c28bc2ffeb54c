// A stand-in for the `electron` module, just enough of its main-process API for the built main
// bundle (dist/electron/main.js) to run under plain Node in test/electron-main.test.ts: it records
// what main.ts asks of Electron (windows and their options, handlers, policies) and lets the test
// play Electron's part (window closed, second instance, quit). Not a mock of our code: everything
// behind these calls (engine, Host, IPC table, file server) is the real bundle.

import { EventEmitter } from 'node:events';

type Listener = (...args: any[]) => unknown;

export class FakeEvent {
  defaultPrevented = false;
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

class FakeWebContents extends EventEmitter {
  readonly mainFrame = { url: '' };
  readonly sent: { channel: string; args: unknown[] }[] = [];
  windowOpenHandler: Listener | null = null;
  destroyed = false;
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args: structuredClone(args) });
  }
  setWindowOpenHandler(handler: Listener): void {
    this.windowOpenHandler = handler;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
}

export class BrowserWindow extends EventEmitter {
  readonly options: any;
  readonly webContents = new FakeWebContents();
  destroyed = false;
  visible = false;
  loaded: string[] = [];
  constructor(options: any) {
    super();
    this.options = options;
    fake.windows.push(this);
    app.emit('web-contents-created', new FakeEvent(), this.webContents);
  }
  async loadURL(url: string): Promise<void> {
    this.loaded.push(url);
    this.webContents.mainFrame.url = url;
    await new Promise((r) => setImmediate(r));
    this.emit('ready-to-show');
    this.webContents.emit('did-finish-load');
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  isMinimized(): boolean {
    return false;
  }
  restore(): void {}
  show(): void {
    this.visible = true;
  }
  focus(): void {}
  /** What the user closing the window does. */
  close(): void {
    this.destroyed = true;
    this.webContents.destroyed = true;
    this.emit('closed');
    if (fake.windows.every((w) => w.destroyed)) app.emit('window-all-closed');
  }
}

class FakeApp extends EventEmitter {
  isPackaged = false;
  quitting = false;
  quitAttempts = 0;
  exitCode: number | null = null;
  sandboxed = false;
  readonly ready = Promise.resolve();
  private quitDone!: () => void;
  readonly quit$ = new Promise<void>((r) => {
    this.quitDone = r;
  });
  enableSandbox(): void {
    this.sandboxed = true;
  }
  requestSingleInstanceLock(): boolean {
    return true;
  }
  whenReady(): Promise<void> {
    return this.ready;
  }
  getPath(name: string): string {
    if (name !== 'userData') throw new Error(`fake electron: getPath(${name})`);
    return fake.userData;
  }
  quit(): void {
    this.quitAttempts++;
    const event = new FakeEvent();
    this.emit('before-quit', event);
    if (event.defaultPrevented) return;
    this.emit('will-quit', new FakeEvent());
    this.quitting = true;
    this.quitDone();
  }
  exit(code = 0): void {
    this.exitCode = code;
    this.quitting = true;
    this.quitDone();
  }
}

export const app = new FakeApp();

class FakeSession {
  permissionRequest: Listener | null = null;
  permissionCheck: Listener | null = null;
  devicePermission: Listener | null = null;
  beforeRequest: Listener | null = null;
  headersReceived: Listener | null = null;
  readonly protocols = new Map<string, Listener>();
  readonly webRequest = {
    onBeforeRequest: (l: Listener) => {
      this.beforeRequest = l;
    },
    onHeadersReceived: (l: Listener) => {
      this.headersReceived = l;
    },
  };
  readonly protocol = {
    handle: (scheme: string, l: Listener) => {
      this.protocols.set(scheme, l);
    },
  };
  setPermissionRequestHandler(l: Listener): void {
    this.permissionRequest = l;
  }
  setPermissionCheckHandler(l: Listener): void {
    this.permissionCheck = l;
  }
  setDevicePermissionHandler(l: Listener): void {
    this.devicePermission = l;
  }
}

export const session = { defaultSession: new FakeSession() };

export const protocol = {
  privileged: [] as unknown[],
  registerSchemesAsPrivileged(schemes: unknown[]): void {
    if (app.listenerCount('ready') > 0) throw new Error('registerSchemesAsPrivileged after ready');
    this.privileged.push(...schemes);
  },
  handle(scheme: string, l: Listener): void {
    session.defaultSession.protocols.set(scheme, l);
  },
};

export const ipcMain = {
  handlers: new Map<string, Listener>(),
  handle(channel: string, l: Listener): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, l);
  },
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  },
};

export const dialog = {
  errors: [] as { title: string; content: string }[],
  /** Every message box shown, and the buttons the test's user will press, in order. */
  boxes: [] as any[],
  answers: [] as number[],
  /** What the next folder dialogs answer (the test plays the user); empty: cancelled. */
  openAnswers: [] as string[],
  messages: [] as { type: string; message: string; detail: string }[],
  showErrorBox(title: string, content: string): void {
    this.errors.push({ title, content });
  },
  async showOpenDialog(...args: any[]): Promise<{ canceled: boolean; filePaths: string[] }> {
    void args;
    const answer = this.openAnswers.shift();
    return answer === undefined ? { canceled: true, filePaths: [] } : { canceled: false, filePaths: [answer] };
  },
  async showMessageBox(options: any): Promise<{ response: number; checkboxChecked: boolean }> {
    this.boxes.push(options);
    this.messages.push({ type: options.type, message: options.message, detail: options.detail });
    return { response: this.answers.shift() ?? options.cancelId ?? 0, checkboxChecked: false };
  },
};

export const Menu = {
  application: null as { template: any[] } | null,
  buildFromTemplate(template: any[]): { template: any[] } {
    return { template };
  },
  setApplicationMenu(menu: { template: any[] } | null): void {
    this.application = menu;
  },
};

/** The test's handle on the fake. */
export const fake = {
  userData: '',
  windows: [] as BrowserWindow[],
};

export default { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session };
