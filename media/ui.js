// The one place that knows which component library draws the panel's controls: @vscode/webview-ui-toolkit today
// (archived upstream). Swapping to another component set means rewriting only this file and the <script> tag that
// loads the toolkit; review.js calls nothing but these functions.
(() => {
  'use strict';

  function el(tag, attributes, text) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== undefined && value !== null && value !== false) {
        element.setAttribute(name, value === true ? '' : String(value));
      }
    }
    if (text !== undefined) {
      element.textContent = text;
    }
    return element;
  }

  const ui = {
    /** A button; appearance 'primary' | 'secondary' | 'icon'. */
    button(label, options = {}) {
      const button = el('vscode-button', {
        appearance: options.appearance || 'secondary',
        title: options.title,
        'aria-label': options.ariaLabel || options.title || label,
        'data-action': options.action,
      }, label);
      if (options.onClick) {
        button.addEventListener('click', options.onClick);
      }
      return button;
    },

    setDisabled(control, disabled) {
      if (disabled) {
        control.setAttribute('disabled', '');
      } else {
        control.removeAttribute('disabled');
      }
    },

    /** A one-line text input; onInput receives the current value. */
    textField(options = {}) {
      const field = el('vscode-text-field', {
        placeholder: options.placeholder,
        value: options.value,
        size: options.size,
        'aria-label': options.ariaLabel,
        id: options.id,
      });
      if (options.label) {
        field.textContent = options.label;
      }
      if (options.onInput) {
        field.addEventListener('input', () => options.onInput(field.value));
      }
      return field;
    },

    valueOf(control) {
      return control.value;
    },

    setValue(control, value) {
      if (control.value !== value) {
        control.value = value;
      }
    },

    focus(control) {
      control.focus();
    },

    /** A drop-down of {value, label}; onChange receives the chosen value. */
    dropdown(options = {}) {
      const dropdown = el('vscode-dropdown', { 'aria-label': options.ariaLabel, id: options.id, title: options.title });
      ui.setOptions(dropdown, options.options || [], options.value);
      if (options.onChange) {
        dropdown.addEventListener('change', () => options.onChange(dropdown.value));
      }
      return dropdown;
    },

    setOptions(dropdown, options, value) {
      const key = JSON.stringify(options);
      if (dropdown.dataset.options !== key) {
        dropdown.dataset.options = key;
        dropdown.replaceChildren(
          ...options.map((option) => el('vscode-option', { value: option.value, selected: option.value === value }, option.label)),
        );
      }
      // The toolkit reads its options on slot change; set the value once it has them.
      requestAnimationFrame(() => {
        if (dropdown.value !== value) {
          dropdown.value = value;
        }
      });
    },

    /** A small count or label pill. */
    badge(text, options = {}) {
      return el('vscode-badge', { title: options.title }, text);
    },

    divider() {
      return el('vscode-divider', { role: 'separator' });
    },

    /** True when a keyboard event happened inside one of this layer's text inputs. */
    isTextInput(event) {
      return event.composedPath().some((node) => {
        const tag = node && node.tagName;
        return tag === 'VSCODE-TEXT-FIELD' || tag === 'VSCODE-TEXT-AREA' || tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'VSCODE-DROPDOWN';
      });
    },
  };

  globalThis.peerkdUi = ui;
})();
