/**
 * The one place that knows which component library draws the panel's controls: @vscode/webview-ui-toolkit today
 * (archived upstream; the panel loads its bundle, dist/toolkit.min.js, with the CSP nonce before this client).
 * Swapping to another component set means rewriting only this file and the <script> tag that loads the toolkit; the
 * rest of the client calls nothing but these functions.
 */

import { showInvisible } from '../../review/prettyRow';
import { GRID_CELL_TAG, keyContextOfTags, type KeyContext } from './keymap';

/** A toolkit control (vscode-button, vscode-text-field, vscode-dropdown): a custom element with a value. */
export type Control = HTMLElement & { value: string };

export interface Option {
  value: string;
  label: string;
  /** A class of the option's own (review.css): `no-label` for the rows without a teacher label. */
  className?: string;
}

function el(tag: string, attributes: Record<string, string | number | boolean | undefined>, text?: string): Control {
  const element = document.createElement(tag) as Control;
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== false) {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  if (text !== undefined) {
    // Data shown (labels on buttons and in drop-downs): bidirectional controls as escapes, as in the editor's hover.
    element.textContent = showInvisible(text);
  }
  return element;
}

/**
 * A button; appearance 'primary' | 'secondary' | 'icon'. A screen reader names it by the text it shows (the title is
 * its tooltip, often only its key: 's', 'o'); an icon button, whose text is a symbol, by its title.
 */
export function button(
  label: string,
  options: { appearance?: 'primary' | 'secondary' | 'icon'; title?: string; ariaLabel?: string; action?: string; onClick?: () => void } = {},
): Control {
  const control = el(
    'vscode-button',
    {
      appearance: options.appearance ?? 'secondary',
      title: options.title,
      'aria-label': options.ariaLabel ?? (options.appearance === 'icon' ? options.title : undefined) ?? showInvisible(label),
      'data-action': options.action,
    },
    label,
  );
  const onClick = options.onClick;
  if (onClick) {
    control.addEventListener('click', () => onClick());
  }
  return control;
}

export function setDisabled(control: Control, disabled: boolean): void {
  if (disabled) {
    control.setAttribute('disabled', '');
  } else {
    control.removeAttribute('disabled');
  }
}

/** A one-line text input; onInput receives the current value. */
export function textField(
  options: { placeholder?: string; value?: string; size?: number; ariaLabel?: string; id?: string; onInput?: (value: string) => void } = {},
): Control {
  const field = el('vscode-text-field', {
    placeholder: options.placeholder,
    value: options.value,
    size: options.size,
    'aria-label': options.ariaLabel,
    id: options.id,
  });
  const onInput = options.onInput;
  if (onInput) {
    field.addEventListener('input', () => onInput(field.value));
  }
  return field;
}

export function valueOf(control: Control): string {
  return control.value;
}

export function focus(control: Control): void {
  control.focus();
}

/** A drop-down of {value, label}; onChange receives the chosen value. */
export function dropdown(
  options: { ariaLabel?: string; id?: string; title?: string; options?: readonly Option[]; value?: string; onChange?: (value: string) => void } = {},
): Control {
  const control = el('vscode-dropdown', { 'aria-label': options.ariaLabel, id: options.id, title: options.title });
  setOptions(control, options.options ?? [], options.value ?? '');
  const onChange = options.onChange;
  if (onChange) {
    control.addEventListener('change', () => onChange(control.value));
  }
  return control;
}

export function setOptions(control: Control, options: readonly Option[], value: string): void {
  const key = JSON.stringify(options);
  if (control.dataset.options !== key) {
    control.dataset.options = key;
    control.replaceChildren(...options.map((option) => el('vscode-option', { value: option.value, selected: option.value === value, class: option.className }, option.label)));
  }
  // The toolkit reads its options on slot change; set the value once it has them.
  requestAnimationFrame(() => {
    if (control.value !== value) {
      control.value = value;
    }
  });
}

/**
 * Where the focus is for the panel's keys (keymap.ts keyContextOfTags): a text field, a button or link, a cell of the
 * confusion table (role gridcell), or the list.
 */
export function keyContextOf(event: Event): KeyContext {
  return keyContextOfTags(
    event.composedPath().map((node) => (node instanceof Element ? (node.getAttribute('role') === 'gridcell' ? GRID_CELL_TAG : node.tagName) : '')),
  );
}
