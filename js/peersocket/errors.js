// Errors a page sees: a JS error or a DOMException by name, always with a `code`
// (docs/API.md, "Errors"), whether made here or sent by the browser.

const JS_ERRORS = { TypeError, RangeError, SyntaxError };

export function makeError (name, message, code) {
  const Ctor = JS_ERRORS[name];
  const err = Ctor ? new Ctor(message) : new DOMException(message, name || 'Error');
  Object.defineProperty(err, 'code', { value: code, enumerable: true });
  return err;
}

// An error the browser sent ({name, message, code}), as the page sees it.
export function fromWire (e) {
  return makeError(e && e.name, (e && e.message) || 'unknown error', (e && e.code) || 'ERR_UNKNOWN');
}

// What a value is, for error messages ("a function", "a Date", "a DOM node").
export function describe (v) {
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a symbol';
  if (typeof v === 'bigint') return 'a BigInt';
  if (typeof Node !== 'undefined' && v instanceof Node) return 'a DOM node';
  const tag = Object.prototype.toString.call(v).slice(8, -1);
  return `a ${tag}`;
}
