// The keyboard shortcuts, listed from the same table the key handler uses.

import { useEffect, useRef } from 'react';
import { SHORTCUTS } from '../shortcuts.ts';

export function ShortcutsDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby="shortcuts-heading" data-testid="shortcuts-dialog" onClose={onClose}>
      <h2 id="shortcuts-heading">Keyboard shortcuts</h2>
      <table className="table shortcuts-table">
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.id}>
              <td>{s.label}</td>
              <td>{s.keys.map((k, i) => <span key={k}>{i > 0 && <span className="muted"> or </span>}<kbd>{k}</kbd></span>)}</td>
            </tr>
          ))}
          <tr><td>Move in the notes list</td><td><kbd>↑</kbd> <kbd>↓</kbd> <span className="muted">then</span> <kbd>Enter</kbd></td></tr>
          <tr><td>From the title to the text</td><td><kbd>Enter</kbd></td></tr>
        </tbody>
      </table>
      <form method="dialog">
        <button className="btn primary" type="submit" autoFocus>Close</button>
      </form>
    </dialog>
  );
}
