/**
 * Entry of the all-in-one script-tag build (SDK + widgets + Preact). The SDK's public entry is imported
 * first so its script-tag initialisation sets `window.recsys` before the widgets mount.
 */
import '@recsys/sdk';
import './iife';
