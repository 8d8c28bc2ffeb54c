// CodeMirror 6 with Markdown, mounted inside a shadow root. Why a shadow root: CodeMirror injects
// its styles at run time. Into a document it adds <style> elements, which a strict CSP
// (`style-src 'self'`) refuses; into a shadow root it uses a constructed stylesheet
// (adoptedStyleSheets), which is script-created CSSOM and needs no 'unsafe-inline' or nonce. So
// the page keeps `style-src 'self'` in both hosts. Colours come from the page's CSS custom
// properties, which inherit into the shadow tree.

import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { markdownKeymap, markdownLanguage, pasteURLAsLink } from '@codemirror/lang-markdown';
import { defaultHighlightStyle, HighlightStyle, LanguageSupport, syntaxHighlighting } from '@codemirror/language';
import { Annotation, EditorState, Prec, type Extension } from '@codemirror/state';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { forwardRef, useEffect, useImperativeHandle, useLayoutEffect, useRef } from 'react';

export interface MarkdownEditorHandle {
  focus(): void;
  /**
   * Shows `value` at once, as one change of only the differing part (the cursor and selection
   * move with the text around them). For a remote change merged into the typing: applied in the
   * same task as the merge, so no keystroke can land in between and be overwritten.
   */
  setValue(value: string): void;
  /**
   * Reads a keystroke the browser already put on screen but the editor has not taken in yet
   * (CodeMirror reads DOM input a frame later in some cases), reporting it through onChange. Asked
   * before a remote change is merged into the typing: an update would otherwise drop that pending
   * input and redraw, putting the keystroke (and the cursor) in the wrong place.
   */
  flushInput(): void;
}

export interface MarkdownEditorProps {
  /** Identity of the document: a new key starts a fresh editor state (and undo history). */
  readonly docKey: string;
  readonly value: string;
  readonly onChange: (value: string) => void;
  readonly label: string;
  readonly readOnly?: boolean;
}

/** Marks changes that came from props (another device), so they are not echoed back as edits. */
const External = Annotation.define<boolean>();

const theme = EditorView.theme({
  '&': { height: '100%', color: 'var(--fg)', backgroundColor: 'var(--editor-bg)', fontSize: 'var(--editor-font-size, 15px)' },
  '&.cm-focused': { outline: 'none' },
  // Prose in the UI font; defaultHighlightStyle shows Markdown structure (headings, emphasis, links).
  '.cm-scroller': { fontFamily: 'var(--font)', lineHeight: '1.65', overflow: 'auto' },
  '.cm-content': { padding: '16px 0 40vh', caretColor: 'var(--accent)', maxWidth: '80ch' },
  '.cm-line': { padding: '0 24px' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--accent)', borderLeftWidth: '2px' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': { backgroundColor: 'var(--selection)' },
  '.cm-placeholder': { color: 'var(--muted)' },
});

/**
 * CodeMirror's default highlight style, with each fixed colour turned into a CSS variable that
 * falls back to it (`var(--hl-404740, #404740)`), so styles.css can give dark mode readable
 * colours; headings are larger instead of underlined. Built from defaultHighlightStyle.specs, so
 * no direct dependency on @lezer/highlight's tags is needed.
 */
const highlightStyle = HighlightStyle.define(defaultHighlightStyle.specs.map((spec) => {
  const out: Record<string, unknown> = { ...spec };
  if (typeof spec.color === 'string') out.color = `var(--hl-${spec.color.slice(1)}, ${spec.color})`;
  if (spec.fontWeight === 'bold' && spec.textDecoration === 'underline') {
    out.textDecoration = 'none';
    out.fontSize = '1.12em';
  }
  return out as typeof spec;
}));

function extensions(onChange: { current: (v: string) => void }, label: string, readOnly: boolean): Extension[] {
  return [
    history(),
    keymap.of([...defaultKeymap, ...historyKeymap]),
    // Markdown (GFM) without markdown()'s embedded HTML language: that pulls in the HTML, CSS and
    // JavaScript parsers (~300 KB) for highlighting inline HTML tags in notes.
    new LanguageSupport(markdownLanguage, [pasteURLAsLink]),
    Prec.high(keymap.of(markdownKeymap)),
    syntaxHighlighting(highlightStyle),
    EditorView.lineWrapping,
    placeholder('Write in Markdown…'),
    theme,
    EditorState.readOnly.of(readOnly),
    EditorView.contentAttributes.of({ 'aria-label': label, 'aria-multiline': 'true', 'data-testid': 'editor-content' }),
    EditorView.updateListener.of((u) => {
      if (u.docChanged && !u.transactions.some((t) => t.annotation(External))) onChange.current(u.state.doc.toString());
    }),
  ];
}

/** Replaces only the part of the document that differs from `value`, so the cursor stays put. */
function replaceDiff(view: EditorView, value: string): void {
  const old = view.state.doc.toString();
  if (old === value) return;
  let start = 0;
  while (start < old.length && start < value.length && old[start] === value[start]) start++;
  let endOld = old.length;
  let endNew = value.length;
  while (endOld > start && endNew > start && old[endOld - 1] === value[endNew - 1]) {
    endOld--;
    endNew--;
  }
  view.dispatch({ changes: { from: start, to: endOld, insert: value.slice(start, endNew) }, annotations: External.of(true) });
}

export const MarkdownEditor = forwardRef<MarkdownEditorHandle, MarkdownEditorProps>(function MarkdownEditor(props, ref) {
  const hostRef = useRef<HTMLDivElement>(null);
  const viewRef = useRef<EditorView | null>(null);
  /** The last text this editor reported or was given: a prop equal to it needs no update. */
  const known = useRef(props.value);
  const onChange = useRef<(v: string) => void>(() => {});
  onChange.current = (v: string) => {
    known.current = v;
    props.onChange(v);
  };
  const keyRef = useRef(props.docKey);

  useImperativeHandle(ref, () => ({
    focus: () => viewRef.current?.focus(),
    setValue: (value: string) => {
      known.current = value;
      if (viewRef.current) replaceDiff(viewRef.current, value);
    },
    flushInput: () => {
      // Not in CodeMirror's typed API: its DOM observer's flush, which dispatches the pending input.
      const observer = (viewRef.current as unknown as { observer?: { forceFlush?: () => void } } | null)?.observer;
      observer?.forceFlush?.();
    },
  }), []);

  useEffect(() => {
    const host = hostRef.current!;
    const root = host.shadowRoot ?? host.attachShadow({ mode: 'open' });
    const view = new EditorView({
      root,
      parent: root,
      state: EditorState.create({ doc: props.value, extensions: extensions(onChange, props.label, props.readOnly ?? false) }),
    });
    viewRef.current = view;
    return () => {
      view.destroy();
      viewRef.current = null;
    };
    // Created once; docKey and value changes are applied below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // A layout effect: it runs in the task that rendered the value. A passive effect runs later,
  // after the browser may have handled a keystroke; it would then see this render's value as
  // different from the typed text and put the older text back (moving the key after the cursor).
  useLayoutEffect(() => {
    const view = viewRef.current;
    if (!view) return;
    if (keyRef.current !== props.docKey) {
      keyRef.current = props.docKey;
      known.current = props.value;
      view.setState(EditorState.create({ doc: props.value, extensions: extensions(onChange, props.label, props.readOnly ?? false) }));
      return;
    }
    if (props.value === known.current) return;
    known.current = props.value;
    replaceDiff(view, props.value);
  }, [props.docKey, props.value, props.label, props.readOnly]);

  return <div ref={hostRef} className="md-editor" data-testid="editor" />;
});
