import type { LayoutSpec } from './topology-types.js';

/**
 * The tmux commands that give a window its layout, after all its panes exist.
 * development: the first pane is the main one, 70 % wide, the others stacked
 * on the right (a test runner and logs); monitoring: a 2×2 dashboard; the rest
 * are tmux's own layouts, or a raw layout string as `#{window_layout}` prints.
 */
export function layoutCommands(windowTarget: string, layout: LayoutSpec): string[][] {
  if (layout.kind === 'raw') return [['select-layout', '-t', windowTarget, layout.layout]];
  switch (layout.name) {
    case 'development':
      return [
        ['set-option', '-w', '-t', windowTarget, 'main-pane-width', '70%'],
        ['select-layout', '-t', windowTarget, 'main-vertical'],
      ];
    case 'monitoring':
      return [['select-layout', '-t', windowTarget, 'tiled']];
    case 'tiled':
    case 'even-horizontal':
    case 'even-vertical':
    case 'main-horizontal':
    case 'main-vertical':
      return [['select-layout', '-t', windowTarget, layout.name]];
  }
}
