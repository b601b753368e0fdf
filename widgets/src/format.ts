const formatters = new Map<string, Intl.NumberFormat>();

/**
 * Formats a price for display with `Intl.NumberFormat`, caching one formatter per locale and currency.
 * An unknown currency code or locale falls back to a plain `"12.5 XYZ"` rather than breaking the widget.
 * @example formatPrice(1234.5, 'EUR', 'de-DE') // "1.234,50 €"
 */
export function formatPrice(
  price: number | null | undefined,
  currency: string | null | undefined,
  locale: string,
): string {
  if (price == null || !Number.isFinite(price)) return '';
  const key = `${locale}|${currency ?? ''}`;
  let nf = formatters.get(key);
  if (!nf) {
    try {
      nf = new Intl.NumberFormat(locale, currency ? { style: 'currency', currency } : undefined);
    } catch {
      return currency ? `${price} ${currency}` : String(price);
    }
    formatters.set(key, nf);
  }
  return nf.format(price);
}

/** The locale widgets format with when none is given: the browser's, else `en-US`. */
export function defaultLocale(): string {
  return (typeof navigator !== 'undefined' && navigator.language) || 'en-US';
}
