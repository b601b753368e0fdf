/**
 * The widgets' one stylesheet. Theme defaults sit on `:where(:root)` (zero specificity) so a page can
 * override any `--recsys-*` variable on `:root`, on a container, or on `.recsys` itself.
 * Cards, titles and prices have fixed heights so the skeleton occupies exactly the box of the loaded list.
 * Default colours meet WCAG AA (≥ 4.5:1) on the default white background.
 */
export const widgetStyles =
  ':where(:root){--recsys-accent:#0b5cad;--recsys-radius:8px;--recsys-font:inherit;--recsys-text:#1f2328;' +
  '--recsys-muted:#57606a;--recsys-bg:#fff;--recsys-media-bg:#eef0f2;--recsys-card-width:180px;--recsys-gap:16px;' +
  '--recsys-media-ratio:1/1}' +
  '.recsys{font-family:var(--recsys-font);color:var(--recsys-text);background:var(--recsys-bg);margin:0 0 24px}' +
  '.recsys-head{display:flex;align-items:center;gap:8px;min-height:40px;margin-bottom:8px}' +
  '.recsys-title{flex:1;margin:0;font-size:1.25rem;line-height:1.3}' +
  '.recsys-note{font-size:.8125rem;color:var(--recsys-muted)}' +
  '.recsys-nav{display:flex;gap:4px}.recsys-nav[hidden]{display:none}' +
  '.recsys-btn{font:inherit;min-width:36px;height:36px;padding:0 12px;cursor:pointer;color:var(--recsys-accent);' +
  'background:var(--recsys-bg);border:1px solid var(--recsys-accent);border-radius:var(--recsys-radius)}' +
  '.recsys-btn:disabled{opacity:.4;cursor:default}' +
  '.recsys-body{position:relative}' +
  '.recsys-track{display:flex;gap:var(--recsys-gap);margin:0;padding:4px;list-style:none;overflow-x:auto;' +
  'scroll-snap-type:x mandatory;scroll-behavior:smooth;scrollbar-width:none}' +
  // No scrollbar: its presence would change the height between a short and a long list (layout shift);
  // the Previous/Next buttons, arrow keys, touch and trackpads scroll instead.
  '.recsys-track::-webkit-scrollbar{display:none}' +
  '.recsys-item{flex:0 0 var(--recsys-card-width);width:var(--recsys-card-width);scroll-snap-align:start}' +
  '.recsys-card{display:block;color:inherit;text-decoration:none;border-radius:var(--recsys-radius)}' +
  '.recsys-card:hover .recsys-name{text-decoration:underline}' +
  '.recsys-card:focus-visible,.recsys-btn:focus-visible,.recsys-item :focus-visible{outline:3px solid var(--recsys-accent);outline-offset:2px}' +
  '.recsys-media{display:flex;aspect-ratio:var(--recsys-media-ratio);overflow:hidden;border-radius:var(--recsys-radius);' +
  'background:var(--recsys-media-bg)}' +
  '.recsys-media img{width:100%;height:100%;object-fit:cover}' +
  '.recsys-ph::after{content:"";margin:auto;width:30%;aspect-ratio:1;border:3px solid var(--recsys-muted);' +
  'border-radius:50%;opacity:.35}' +
  '.recsys-name{height:2.7em;margin:8px 0 4px;overflow:hidden;font-size:.9375rem;line-height:1.35;display:-webkit-box;' +
  '-webkit-line-clamp:2;-webkit-box-orient:vertical}' +
  '.recsys-price,.recsys-why{height:1.4em;margin:0;line-height:1.4;overflow:hidden}' +
  '.recsys-price{font-weight:600}' +
  '.recsys-why{font-size:.8125rem;color:var(--recsys-muted);white-space:nowrap;text-overflow:ellipsis}' +
  '.recsys-sk .recsys-media,.recsys-sk .recsys-name,.recsys-sk .recsys-price,.recsys-sk .recsys-why{' +
  'background:var(--recsys-media-bg);border-radius:var(--recsys-radius);animation:recsys-pulse 1.2s ease-in-out infinite}' +
  '@keyframes recsys-pulse{50%{opacity:.5}}' +
  '.recsys-msg{position:absolute;inset:0;display:flex;flex-direction:column;align-items:center;justify-content:center;' +
  'gap:8px;margin:0;text-align:center;background:var(--recsys-bg)}' +
  // The bundle widget: its items side by side with a "+" between them, the price and one button under them.
  '.recsys-bundle-items{display:flex;flex-wrap:wrap;gap:var(--recsys-gap);margin:0;padding:4px;list-style:none}' +
  '.recsys-bundle-item{position:relative;flex:0 1 var(--recsys-card-width);width:var(--recsys-card-width)}' +
  '.recsys-bundle-item+.recsys-bundle-item::before{content:"+";position:absolute;top:25%;left:calc(var(--recsys-gap)/-2);' +
  'transform:translateX(-50%);font-size:1.25rem;color:var(--recsys-muted)}' +
  '.recsys-bundle-buy{display:flex;flex-wrap:wrap;align-items:center;gap:12px;margin-top:12px}' +
  '.recsys-bundle-total{margin:0}.recsys-bundle-add{color:#fff;background:var(--recsys-accent)}' +
  '@media (prefers-reduced-motion:reduce){.recsys-track{scroll-behavior:auto}.recsys-sk *{animation:none!important}}';

const STYLE_ID = 'recsys-widgets-css';

/**
 * Adds the widget stylesheet to `doc` once. Called lazily on first mount so importing the package has no
 * side effects.
 */
export function injectStyles(doc: Document = document): void {
  if (doc.getElementById(STYLE_ID)) return;
  const style = doc.createElement('style');
  style.id = STYLE_ID;
  style.textContent = widgetStyles;
  doc.head.appendChild(style);
}
