import { LOADER_SNIPPET } from '@recsys/sdk';
import type { Catalog, Product } from './catalog';
import { html, raw, type SafeHtml } from './html';

/**
 * Keeps the browser's SDK identity in step with the shop's session: every page while signed in
 * calls `identify` with the user token the shop's backend signed for that page (the SDK links the
 * visitor once; the token proves the user id on each page), the first page after signing out
 * `reset`. Constant (no data inside) so the Content-Security-Policy can allow it by hash.
 */
export const IDENTITY_SCRIPT =
  '(function(){function m(n){var e=document.querySelector(\'meta[name="\'+n+\'"]\');return(e&&e.content)||""}var u=m("shop-user"),t=m("shop-user-token"),k="shop_identified",s=null;try{s=localStorage.getItem(k)}catch(e){}if(u){recsys.identify(u,undefined,{token:t});if(s!==u)try{localStorage.setItem(k,u)}catch(e){}}else if(s){recsys.reset();try{localStorage.removeItem(k)}catch(e){}}})();';

export const INLINE_SCRIPTS = [LOADER_SNIPPET, IDENTITY_SCRIPT];

export const SHOP_NAME = 'Larkspur & Co.';
const LOCALE = 'en-GB';
export const PAGE_SIZE = 24;

/** What every page needs to know about the request. */
export interface PageContext {
  /** Origin the browser used (`http://localhost:8080`), the SDK's endpoint. */
  origin: string;
  publishableKey: string;
  /** The signed-in demo user. */
  user: string | null;
  /** A user token for `user`, signed by the shop's server for this page. */
  userToken: string | null;
  catalog: Catalog;
}

export function formatPrice(price: number | null, currency: string): string {
  if (price === null) return '';
  return new Intl.NumberFormat(LOCALE, { style: 'currency', currency }).format(price);
}

const productUrl = (id: string) => `/p/${encodeURIComponent(id)}`;
const imageUrl = (id: string) => `/img/${encodeURIComponent(id)}.svg`;

interface WidgetOptions {
  itemId?: string;
  category?: string;
  limit?: number;
  title: string;
  name: string;
  fallbackLabel?: string;
}

/** A `data-recsys-widget` element, exactly as a shop would paste it. */
function widget(type: string, o: WidgetOptions): SafeHtml {
  return html`<div class="shelf" data-recsys-widget="${type}" data-title="${o.title}" data-widget-name="${o.name}" data-limit="${o.limit ?? 8}" data-locale="${LOCALE}"${o.itemId ? html` data-item-id="${o.itemId}"` : ''}${o.category ? html` data-category="${o.category}"` : ''}${o.fallbackLabel ? html` data-fallback-label="${o.fallbackLabel}"` : ''}></div>`;
}

/**
 * "Frequently bought together": its "Add all to cart" dispatches `recsys:add-to-cart` per item, which
 * shop.js turns into cart lines (the widget has already sent the attributed add events).
 */
function bundleWidget(itemId: string): SafeHtml {
  return html`<div class="shelf" data-recsys-widget="bundle" data-item-id="${itemId}" data-title="Frequently bought together" data-widget-name="pdp-bundle" data-locale="${LOCALE}"></div>`;
}

/** Container the shop script fills with a `cart` widget while the cart has items. */
function cartShelf(title: string, name: string): SafeHtml {
  return html`<div data-cart-recs data-title="${title}" data-widget-name="${name}" data-locale="${LOCALE}"></div>`;
}

function productCard(p: Product): SafeHtml {
  return html`<li class="card">
  <a href="${productUrl(p.itemId)}">
    <img src="${imageUrl(p.itemId)}" alt="" width="400" height="400" loading="lazy">
    <span class="card-title">${p.title}</span>
  </a>
  <span class="card-price">${formatPrice(p.price, p.currency)}${p.available ? '' : html` · <span class="muted">Out of stock</span>`}</span>
</li>`;
}

export function layout(ctx: PageContext, page: { title: string; body: SafeHtml; nav?: string }): string {
  const { catalog, user } = ctx;
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title} · ${SHOP_NAME}</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/shop.css">
<meta name="shop-user" content="${user ?? ''}">
<meta name="shop-user-token" content="${ctx.userToken ?? ''}">
<script>${raw(LOADER_SNIPPET)}</script>
<script>${raw(IDENTITY_SCRIPT)}</script>
<script async src="/static/recsys-full.js" data-key="${ctx.publishableKey}" data-endpoint="${ctx.origin}"></script>
<script type="module" src="/static/shop.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="site-header">
  <div class="wrap header-row">
    <a class="logo" href="/">${SHOP_NAME}</a>
    <nav aria-label="Account">
      <ul class="account">
        <li><a href="/orders"${page.nav === 'orders' ? raw(' aria-current="page"') : ''}>Orders</a></li>
        <li>${
          user
            ? html`<form method="post" action="/signout" class="inline"><span class="muted-light">Signed in as <strong data-signed-in>${user}</strong></span> <button type="submit" class="link-button">Sign out</button></form>`
            : html`<a href="/signin"${page.nav === 'signin' ? raw(' aria-current="page"') : ''}>Sign in</a>`
        }</li>
        <li><a href="/cart" class="cart-link"${page.nav === 'cart' ? raw(' aria-current="page"') : ''}>Cart <span class="badge" data-cart-count>0</span></a></li>
      </ul>
    </nav>
  </div>
  <nav aria-label="Categories" class="categories">
    <ul class="wrap">
      ${catalog.categories.map(
        (c) =>
          html`<li><a href="/c/${encodeURIComponent(c.slug)}"${page.nav === `c/${c.slug}` ? raw(' aria-current="page"') : ''}>${c.name}</a></li>`,
      )}
    </ul>
  </nav>
</header>
<main id="main" class="wrap">
${page.body}
</main>
<div class="toast" role="status" aria-live="polite" data-shop-status></div>
<footer class="site-footer">
  <div class="wrap">A demo shop for <strong>Recsys</strong>. Every recommendation on these pages comes from the Recsys server running next to it; the catalog and its history are synthetic.</div>
</footer>
</body>
</html>`;
  return doc.value;
}

export function homePage(ctx: PageContext): string {
  const body = html`<section class="hero">
  <h1>Good things, picked for you</h1>
  <p>Browse a category, open a few products, add something to your cart: the shelves below change within seconds.</p>
</section>
${widget('for-user', { title: 'Top picks for you', name: 'home-top-picks', limit: 10 })}
${ctx.user ? widget('buy-again', { title: 'Buy it again', name: 'home-buy-again' }) : ''}
${widget('recently-viewed', { title: 'Recently viewed', name: 'home-recently-viewed' })}
${widget('trending', { title: 'Trending now', name: 'home-trending' })}
<section aria-labelledby="shop-by-category">
  <h2 id="shop-by-category">Shop by category</h2>
  <ul class="tiles">
    ${ctx.catalog.categories.map(
      (c) =>
        html`<li><a href="/c/${encodeURIComponent(c.slug)}"><span>${c.name}</span> <span class="muted">${c.count} products</span></a></li>`,
    )}
  </ul>
</section>`;
  return layout(ctx, { title: 'Home', body });
}

export function categoryPage(ctx: PageContext, slug: string, pageNumber: number): string | undefined {
  const category = ctx.catalog.categories.find((c) => c.slug === slug);
  const products = ctx.catalog.byCategory.get(slug);
  if (!category || !products) return undefined;
  const pages = Math.max(1, Math.ceil(products.length / PAGE_SIZE));
  const current = Math.min(Math.max(1, pageNumber), pages);
  const shown = products.slice((current - 1) * PAGE_SIZE, current * PAGE_SIZE);
  const href = (n: number) => `/c/${encodeURIComponent(slug)}${n > 1 ? `?page=${n}` : ''}`;
  const body = html`<h1>${category.name}</h1>
<p class="muted">${category.count} products</p>
${widget('trending', { category: slug, title: `Trending in ${category.name}`, name: 'category-trending' })}
<section aria-labelledby="all-products">
  <h2 id="all-products">All ${category.name.toLowerCase()}</h2>
  <ul class="grid">${shown.map(productCard)}</ul>
  ${
    pages > 1
      ? html`<nav aria-label="Pages" class="pager">
    ${current > 1 ? html`<a href="${href(current - 1)}" rel="prev">Previous</a>` : ''}
    <span>Page ${current} of ${pages}</span>
    ${current < pages ? html`<a href="${href(current + 1)}" rel="next">Next</a>` : ''}
  </nav>`
      : ''
  }
</section>`;
  return layout(ctx, { title: category.name, body, nav: `c/${slug}` });
}

export function productPage(ctx: PageContext, product: Product): string {
  const category = ctx.catalog.categories.find((c) => c.slug === product.category);
  const body = html`<nav aria-label="Breadcrumb" class="crumbs">
  <ol><li><a href="/">Home</a></li>${category ? html`<li><a href="/c/${encodeURIComponent(category.slug)}">${category.name}</a></li>` : ''}<li><span aria-current="page">${product.title}</span></li></ol>
</nav>
<article class="product" data-view-item="${product.itemId}">
  <img src="${imageUrl(product.itemId)}" alt="${product.title}" width="400" height="400">
  <div class="product-info">
    ${product.brand ? html`<p class="brand">${product.brand}</p>` : ''}
    <h1>${product.title}</h1>
    <p class="price">${formatPrice(product.price, product.currency)}</p>
    <p class="${product.available ? 'stock' : 'stock out'}">${product.available ? 'In stock' : 'Out of stock'}</p>
    <button type="button" class="button" data-add-to-cart data-item-id="${product.itemId}" data-title="${product.title}" data-price="${product.price ?? ''}" data-currency="${product.currency}"${product.available ? '' : raw(' disabled')}>Add to cart</button>
    <p>${product.description}</p>
    ${
      product.facets.length
        ? html`<dl class="facets">${product.facets.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v.replace(/-/g, ' ')}</dd></div>`)}</dl>`
        : ''
    }
  </div>
</article>
${product.available ? bundleWidget(product.itemId) : ''}
${widget('similar', { itemId: product.itemId, title: 'You may also like', name: 'pdp-similar' })}
${cartShelf('Goes well with your cart', 'pdp-cart')}
${widget('recently-viewed', { itemId: product.itemId, title: 'Recently viewed', name: 'pdp-recently-viewed' })}`;
  return layout(ctx, { title: product.title, body, nav: `c/${product.category}` });
}

export function cartPage(ctx: PageContext): string {
  const body = html`<h1>Your cart</h1>
<div data-cart-lines><p>Loading your cart…</p></div>
<noscript><p>The cart needs JavaScript.</p></noscript>
${cartShelf('Complete your order', 'cart-page')}
${widget('trending', { title: 'Trending now', name: 'cart-trending', limit: 6 })}`;
  return layout(ctx, { title: 'Cart', body, nav: 'cart' });
}

export function checkoutPage(ctx: PageContext): string {
  const body = html`<h1>Checkout</h1>
<div class="checkout">
  <section aria-labelledby="summary-title">
    <h2 id="summary-title">Order summary</h2>
    <div data-checkout-summary><p>Loading your cart…</p></div>
  </section>
  <form data-checkout-form class="panel">
    <fieldset>
      <legend>Delivery</legend>
      <label><input type="radio" name="delivery" value="standard" checked> Standard, 3–5 days (free)</label>
      <label><input type="radio" name="delivery" value="express"> Express, next day (free in this demo)</label>
    </fieldset>
    <p class="muted">No payment is taken: this is a demo. ${ctx.user ? html`The order is saved for <strong>${ctx.user}</strong>.` : html`<a href="/signin">Sign in</a> to keep it in your order history.`}</p>
    <button type="submit" class="button" data-place-order>Place order</button>
  </form>
</div>`;
  return layout(ctx, { title: 'Checkout', body, nav: 'cart' });
}

export interface OrderLine {
  itemId: string;
  quantity: number;
  unitPrice: number | null;
}

export interface Order {
  orderId: string;
  ts: string;
  currency: string;
  lines: OrderLine[];
}

export function ordersPage(
  ctx: PageContext,
  view: { who: 'user' | 'visitor' | 'nobody'; orders: Order[]; placed: string | null },
): string {
  const product = (id: string) => ctx.catalog.products.get(id);
  const date = new Intl.DateTimeFormat(LOCALE, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
  const total = (o: Order) => o.lines.reduce((sum, l) => sum + (l.unitPrice ?? 0) * l.quantity, 0);
  const body = html`<h1>Your orders</h1>
${view.placed ? html`<p class="notice" role="status">Thank you! Order <strong>${view.placed}</strong> is placed.</p>` : ''}
${
  view.who === 'nobody'
    ? html`<p><a href="/signin">Sign in</a> to see your order history.</p>`
    : view.who === 'visitor'
      ? html`<p class="muted">Orders placed from this browser. <a href="/signin">Sign in</a> to see an account's full history.</p>`
      : ''
}
${view.who !== 'nobody' ? widget('buy-again', { title: 'Buy it again', name: 'orders-buy-again' }) : ''}
${
  view.orders.length
    ? html`<ol class="orders">${view.orders.map(
        (o) => html`<li class="order" data-order-id="${o.orderId}">
  <h2>Order ${o.orderId}</h2>
  <p class="muted">${date.format(new Date(o.ts))} UTC · ${formatPrice(total(o), o.currency)}</p>
  <ul>${o.lines.map((l) => {
    const p = product(l.itemId);
    return html`<li><a href="${productUrl(l.itemId)}">${p?.title ?? l.itemId}</a> × ${l.quantity}${l.unitPrice !== null ? html` <span class="muted">${formatPrice(l.unitPrice, o.currency)}</span>` : ''}</li>`;
  })}</ul>
</li>`,
      )}</ol>`
    : view.who !== 'nobody'
      ? html`<p>No orders yet.</p>`
      : ''
}`;
  return layout(ctx, { title: 'Orders', body, nav: 'orders' });
}

export interface DemoUser {
  userId: string;
  traits: Record<string, unknown>;
  orders: number;
}

export function signInPage(ctx: PageContext, users: DemoUser[]): string {
  const trait = (u: DemoUser, k: string) =>
    typeof u.traits[k] === 'string' ? (u.traits[k] as string) : null;
  const body = html`<h1>Sign in</h1>
<p>This demo has no passwords: pick one of the shop's customers. Recommendations switch to their history, and what you browsed before signing in is linked to them (<code>identify</code>).</p>
<form method="post" action="/signin">
  <ul class="users">
    ${users.map(
      (u) => html`<li><button type="submit" name="user" value="${u.userId}" class="user-button">
      <strong>${u.userId}</strong>
      <span class="muted">${[trait(u, 'segment'), trait(u, 'country'), `${u.orders} past purchases`].filter(Boolean).join(' · ')}</span>
    </button></li>`,
    )}
  </ul>
</form>`;
  return layout(ctx, { title: 'Sign in', body, nav: 'signin' });
}

export function notFoundPage(ctx: PageContext, what: string): string {
  const body = html`<h1>Not found</h1><p>${what}</p><p><a href="/">Back to the shop</a></p>`;
  return layout(ctx, { title: 'Not found', body });
}
