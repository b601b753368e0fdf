import { fnv1a32 } from '@recsys/engine/random';
import { html, type SafeHtml } from './html';

/** Dark enough that white text on them passes WCAG AA (≥ 4.5:1). */
const CATEGORY_COLOURS: Record<string, string> = {
  apparel: '#7c3aed',
  audio: '#1d4ed8',
  beauty: '#be185d',
  coffee: '#78350f',
  home: '#b45309',
  kitchen: '#b91c1c',
  outdoor: '#15803d',
  pets: '#0f766e',
  shoes: '#4338ca',
  toys: '#a21caf',
};
const FALLBACK_COLOURS = ['#334155', '#0e7490', '#9f1239', '#3f6212', '#6d28d9'];

export function categoryColour(category: string): string {
  return (
    CATEGORY_COLOURS[category] ?? FALLBACK_COLOURS[fnv1a32(category) % FALLBACK_COLOURS.length] ?? '#334155'
  );
}

/** "Stitchhouse Rattan Linen Cushion Cover" → "CC": the product noun reads better than the brand. */
export function initials(title: string): string {
  const words = title.split(/\s+/).filter((w) => /^[\p{L}\p{N}]/u.test(w));
  return words
    .slice(-2)
    .map((w) => w[0]?.toUpperCase() ?? '')
    .join('');
}

/**
 * A product picture drawn locally: category colour, the product's initials and
 * a pattern that differs per item, so the demo needs no image host.
 */
export function productSvg(product: {
  itemId: string;
  title: string;
  category: string;
  brand: string | null;
}): SafeHtml {
  const colour = categoryColour(product.category);
  const h = fnv1a32(product.itemId);
  const cx = 40 + (h % 320);
  const cy = 40 + ((h >>> 9) % 320);
  const r = 60 + ((h >>> 18) % 90);
  return html`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 400" width="400" height="400" role="img" aria-label="${product.title}">
<rect width="400" height="400" fill="${colour}"/>
<circle cx="${cx}" cy="${cy}" r="${r}" fill="#ffffff" fill-opacity="0.12"/>
<circle cx="${400 - cx}" cy="${400 - cy}" r="${r / 2}" fill="#000000" fill-opacity="0.12"/>
<text x="200" y="228" text-anchor="middle" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="120" font-weight="700" fill="#ffffff">${initials(product.title)}</text>
<text x="200" y="360" text-anchor="middle" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="26" fill="#ffffff">${product.brand ?? ''}</text>
</svg>`;
}
