// The shop's own browser code: a localStorage cart and checkout. Everything it
// tells Recsys goes through the public SDK calls on `window.recsys` (queued by
// the loader stub until the script has loaded).
const CART_KEY = 'shop_cart';
const LOCALE = 'en-GB';
const recsys = () => window.recsys;

function readCart() {
  try {
    const lines = JSON.parse(localStorage.getItem(CART_KEY) || '[]');
    return Array.isArray(lines) ? lines.filter((l) => l && typeof l.itemId === 'string') : [];
  } catch {
    return [];
  }
}

function writeCart(lines) {
  try {
    if (lines.length) localStorage.setItem(CART_KEY, JSON.stringify(lines));
    else localStorage.removeItem(CART_KEY);
  } catch {
    // Storage blocked: the cart lives until the next page.
  }
  refresh();
}

function money(amount, currency) {
  return new Intl.NumberFormat(LOCALE, { style: 'currency', currency: currency || 'EUR' }).format(amount);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children) node.append(child);
  return node;
}

function announce(text) {
  const status = document.querySelector('[data-shop-status]');
  if (!status) return;
  status.textContent = text;
  status.classList.add('show');
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => status.classList.remove('show'), 2500);
}

function cartTotal(lines) {
  return lines.reduce((sum, l) => sum + (Number(l.price) || 0) * l.quantity, 0);
}

/** Keeps every `cart` widget's `data-item-ids` equal to the cart; the widget refetches when it changes. */
function renderCartRecs(lines) {
  for (const box of document.querySelectorAll('[data-cart-recs]')) {
    let widget = box.querySelector('[data-recsys-widget]');
    if (!lines.length) {
      widget?.remove();
      continue;
    }
    const ids = lines.map((l) => l.itemId).join(',');
    if (!widget) {
      widget = el('div', {
        class: 'shelf',
        'data-recsys-widget': 'cart',
        'data-item-ids': ids,
        'data-limit': '8',
        'data-title': box.dataset.title,
        'data-widget-name': box.dataset.widgetName,
        'data-locale': box.dataset.locale,
      });
      box.append(widget);
    } else if (widget.getAttribute('data-item-ids') !== ids) {
      widget.setAttribute('data-item-ids', ids);
    }
  }
}

function renderCartPage(lines) {
  const root = document.querySelector('[data-cart-lines]');
  if (!root) return;
  root.replaceChildren();
  if (!lines.length) {
    root.append(el('p', { text: 'Your cart is empty. ' }, el('a', { href: '/', text: 'Continue shopping' })));
    return;
  }
  const currency = lines[0].currency;
  const body = el('tbody');
  lines.forEach((line, index) => {
    const qtyId = `qty-${index}`;
    const qty = el('input', {
      id: qtyId,
      type: 'number',
      min: '1',
      max: '99',
      value: String(line.quantity),
      class: 'qty',
    });
    qty.addEventListener('change', () => {
      const next = readCart();
      const n = Math.max(1, Math.min(99, Math.round(Number(qty.value)) || 1));
      if (next[index]) next[index].quantity = n;
      writeCart(next);
    });
    const remove = el('button', { type: 'button', class: 'link-button', text: 'Remove' });
    remove.addEventListener('click', () => {
      const next = readCart().filter((l) => l.itemId !== line.itemId);
      writeCart(next);
      announce(`Removed ${line.title} from your cart`);
    });
    body.append(
      el(
        'tr',
        { 'data-cart-line': line.itemId },
        el(
          'td',
          {},
          el(
            'a',
            { href: `/p/${encodeURIComponent(line.itemId)}`, class: 'line-item' },
            el('img', {
              src: `/img/${encodeURIComponent(line.itemId)}.svg`,
              alt: '',
              width: '56',
              height: '56',
            }),
            el('span', { text: line.title }),
          ),
        ),
        el('td', {}, el('label', { for: qtyId, class: 'sr-only', text: `Quantity of ${line.title}` }), qty),
        el('td', { class: 'num', text: money((Number(line.price) || 0) * line.quantity, line.currency) }),
        el('td', {}, remove),
      ),
    );
  });
  const table = el(
    'table',
    { class: 'cart-table' },
    el('caption', { class: 'sr-only', text: 'Items in your cart' }),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col', text: 'Product' }),
        el('th', { scope: 'col', text: 'Quantity' }),
        el('th', { scope: 'col', class: 'num', text: 'Price' }),
        el('th', { scope: 'col' }, el('span', { class: 'sr-only', text: 'Actions' })),
      ),
    ),
    body,
  );
  root.append(
    table,
    el(
      'div',
      { class: 'cart-footer' },
      el('p', { class: 'total' }, 'Total ', el('strong', { text: money(cartTotal(lines), currency) })),
      el('a', { href: '/checkout', class: 'button', text: 'Go to checkout' }),
    ),
  );
}

function renderCheckout(lines) {
  const root = document.querySelector('[data-checkout-summary]');
  if (!root) return;
  root.replaceChildren();
  const button = document.querySelector('[data-place-order]');
  if (!lines.length) {
    root.append(el('p', { text: 'Your cart is empty. ' }, el('a', { href: '/', text: 'Continue shopping' })));
    if (button) button.disabled = true;
    return;
  }
  const list = el('ul', { class: 'summary' });
  for (const l of lines) {
    list.append(
      el(
        'li',
        {},
        el('span', { text: `${l.title} × ${l.quantity}` }),
        el('span', { text: money((Number(l.price) || 0) * l.quantity, l.currency) }),
      ),
    );
  }
  root.append(
    list,
    el('p', { class: 'total' }, 'Total ', el('strong', { text: money(cartTotal(lines), lines[0].currency) })),
  );
}

function refresh() {
  const lines = readCart();
  const count = lines.reduce((n, l) => n + l.quantity, 0);
  for (const badge of document.querySelectorAll('[data-cart-count]')) {
    badge.textContent = String(count);
    badge.setAttribute('aria-label', `${count} ${count === 1 ? 'item' : 'items'}`);
  }
  renderCartRecs(lines);
  renderCartPage(lines);
  renderCheckout(lines);
}

function addLine(lines, { itemId, title, price, currency }) {
  const line = lines.find((l) => l.itemId === itemId);
  if (line) line.quantity += 1;
  else lines.push({ itemId, title, price, currency, quantity: 1 });
}

function addToCart(button) {
  const { itemId, title, currency } = button.dataset;
  const price = button.dataset.price === '' ? undefined : Number(button.dataset.price);
  const lines = readCart();
  addLine(lines, { itemId, title, price, currency });
  recsys().addToCart(itemId, { quantity: 1, price, currency });
  writeCart(lines);
  announce(`Added ${title} to your cart`);
}

// "Add all to cart" of the bundle widget: one event per item. The widget has sent the add events
// (attributed to the bundle), so only the cart changes here.
let bundleAdds = [];
document.addEventListener('recsys:add-to-cart', (event) => {
  const { itemId, title, price, currency } = event.detail;
  bundleAdds.push({ itemId, title, price: price ?? undefined, currency: currency ?? undefined });
  // The items of one press arrive together: write the cart and announce once.
  queueMicrotask(() => {
    if (!bundleAdds.length) return;
    const lines = readCart();
    for (const item of bundleAdds) addLine(lines, item);
    const count = bundleAdds.length;
    bundleAdds = [];
    writeCart(lines);
    announce(`Added ${count} items to your cart`);
  });
});

/** Sends the order through the SDK, waits until it is delivered, then shows the order history. */
function placeOrder(form) {
  const lines = readCart();
  if (!lines.length) return;
  const button = form.querySelector('[data-place-order]');
  button.disabled = true;
  button.textContent = 'Placing your order…';
  const orderId = `o-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  recsys().purchase({
    orderId,
    currency: lines[0].currency,
    items: lines.map((l) => ({ itemId: l.itemId, quantity: l.quantity, price: l.price })),
  });
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    writeCart([]);
    location.assign(`/orders?placed=${encodeURIComponent(orderId)}`);
  };
  // push(fn) runs once the SDK is ready (at once if it already is); flush() resolves when delivered or given up.
  recsys().push((sdk) => sdk.flush().then(finish, finish));
  setTimeout(finish, 8000);
}

document.addEventListener('click', (event) => {
  const button = event.target instanceof Element && event.target.closest('[data-add-to-cart]');
  if (button && !button.disabled) addToCart(button);
});

document.addEventListener('submit', (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.matches('[data-checkout-form]')) {
    event.preventDefault();
    placeOrder(form);
  }
});

const viewed = document.querySelector('[data-view-item]');
if (viewed) recsys().view(viewed.getAttribute('data-view-item'));

// Another tab changed the cart.
addEventListener('storage', (event) => {
  if (event.key === CART_KEY) refresh();
});

refresh();
