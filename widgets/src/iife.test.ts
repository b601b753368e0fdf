import { act } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RecsysWidgetsGlobal } from './mount';
import { createTestClient, makeItems, TestIntersectionObserver } from './testUtils';
import type { RenderItem } from './types';

const host = globalThis as { recsys?: unknown; recsysWidgets?: RecsysWidgetsGlobal };

beforeEach(() => {
  TestIntersectionObserver.install();
  vi.resetModules();
  document.body.innerHTML =
    '<div data-recsys-widget="similar" data-item-id="sku-1" data-template="mine"></div>';
});
afterEach(() => {
  act(() => host.recsysWidgets?.stop?.());
  delete host.recsys;
  delete host.recsysWidgets;
  vi.restoreAllMocks();
});

describe('script-tag entry', () => {
  it('mounts widgets with window.recsys and keeps templates the page registered first', async () => {
    const t = createTestClient();
    host.recsys = t.client;
    const mine: RenderItem = (item) => item.title;
    host.recsysWidgets = { templates: { mine } };
    await act(async () => {
      await import('./iife');
    });
    expect(host.recsysWidgets?.templates?.mine).toBe(mine);
    expect(typeof host.recsysWidgets?.mount).toBe('function');
    expect(t.calls).toEqual([{ surface: 'similar', params: { itemId: 'sku-1', k: 8 } }]);
    await act(async () => t.respond(makeItems(3)));
    expect(Array.from(document.querySelectorAll('li'), (li) => li.textContent)).toEqual(['Item 2', 'Item 3']);
  });

  it('waits for DOMContentLoaded when the document is still loading', async () => {
    const t = createTestClient();
    host.recsys = t.client;
    host.recsysWidgets = { templates: { mine: (item) => item.title } };
    const state = vi.spyOn(document, 'readyState', 'get').mockReturnValue('loading');
    await act(async () => {
      await import('./iife');
    });
    expect(t.calls).toHaveLength(0);
    state.mockReturnValue('interactive');
    await act(async () => {
      document.dispatchEvent(new Event('DOMContentLoaded'));
    });
    expect(t.calls).toHaveLength(1);
  });
});
