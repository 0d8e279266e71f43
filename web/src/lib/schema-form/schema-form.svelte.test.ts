/** The generated form, mounted in jsdom: one control per JSON Schema type, defaults, required marks, inline messages, what gets sent. */
import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import SchemaForm from './SchemaForm.svelte';
import { cleaned, initialValue, kindOf, validate, withExample } from './schema.ts';
import type { JsonSchema } from '../types.ts';

const schema: JsonSchema = {
  type: 'object',
  required: ['name', 'count', 'tags', 'address'],
  properties: {
    name: { type: 'string', minLength: 2, description: 'Who to greet' },
    language: { type: 'string', enum: ['en', 'fr', 'de'], default: 'en' },
    count: { type: 'integer', minimum: 1, maximum: 10 },
    ratio: { type: 'number', default: 0.5 },
    loud: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    address: { type: 'object', required: ['city'], properties: { city: { type: 'string' }, zip: { type: 'string', pattern: '^[0-9]{5}$' } } },
    extra: { oneOf: [{ type: 'string' }, { type: 'number' }] },
  },
  additionalProperties: false,
};

let app: Record<string, unknown> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = '';
});

/** Mounts the form with a bound value; returns the value's reader, the form and a way to show every message. */
function render(s: JsonSchema, start: Record<string, unknown>) {
  let value = $state(start);
  let showAll = $state(false);
  let problems = $state(new Map<string, string>());
  app = mount(SchemaForm, {
    target: document.body,
    props: {
      schema: s,
      get value() { return value; },
      set value(v) { value = v; },
      get showAll() { return showAll; },
      get problems() { return problems; },
      set problems(p) { problems = p; },
    },
  });
  flushSync();
  return {
    value: () => $state.snapshot(value) as Record<string, unknown>,
    problems: () => problems,
    submit() { showAll = true; flushSync(); },
  };
}

const field = (ptr: string) => document.querySelector(`[data-field="${ptr}"]`) as HTMLElement;
const control = (ptr: string) => field(ptr).querySelector('input, select, textarea') as HTMLInputElement;
function type(ptr: string, text: string): void {
  const el = control(ptr);
  el.value = text;
  el.dispatchEvent(new Event('input', { bubbles: true }));
  el.dispatchEvent(new Event('blur'));
  flushSync();
}
const messages = () => [...document.querySelectorAll('.err')].map((e) => e.textContent?.trim());

describe('schema helpers', () => {
  it('picks a control per type and fills defaults', () => {
    expect(['name', 'language', 'count', 'ratio', 'loud', 'tags', 'address', 'extra'].map((k) => kindOf(schema.properties![k]))).toEqual(['string', 'enum', 'integer', 'number', 'boolean', 'array', 'object', 'json']);
    expect(initialValue(schema)).toEqual({ language: 'en', ratio: 0.5, loud: false, tags: [undefined], address: {} });
    expect(withExample({ type: 'object', properties: { name: { type: 'string' }, n: { type: 'number', default: 1 } } }, { name: 'Ada' })).toEqual({ name: 'Ada', n: 1 });
  });

  it('drops empty optional fields and phrases problems as the API does', () => {
    expect(cleaned(schema, { name: 'Ada', address: { city: 'Paris', zip: '' }, count: undefined })).toEqual({ name: 'Ada', address: { city: 'Paris' } });
    const p = validate(schema, { name: 'A', count: 11, tags: [], address: {}, language: 'xx' });
    expect(p.get('/name')).toBe('must NOT have fewer than 2 characters');
    expect(p.get('/count')).toBe('must be <= 10');
    expect(p.get('/tags')).toBe('must NOT have fewer than 1 items');
    expect(p.get('/address/city')).toBe('is required');
    expect(p.get('/language')).toBe('must be one of "en", "fr", "de"');
  });
});

describe('SchemaForm', () => {
  it('draws every type with labels, required marks and defaults', () => {
    render(schema, initialValue(schema) as Record<string, unknown>);
    expect(control('/name').type).toBe('text');
    expect(control('/name').getAttribute('aria-required')).toBe('true');
    expect(field('/name').querySelector('.req')).not.toBeNull();
    expect(field('/ratio').querySelector('.req')).toBeNull();
    expect(document.querySelector(`label[for="${control('/name').id}"]`)?.textContent).toContain('name');
    expect(field('/name').textContent).toContain('Who to greet');
    const select = control('/language') as unknown as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).toEqual(['(none)', 'en', 'fr', 'de']);
    expect(select.selectedOptions[0].textContent).toBe('en');
    expect(control('/count').type).toBe('number');
    expect(control('/count').step).toBe('1');
    expect(control('/ratio').value).toBe('0.5');
    expect(control('/loud').type).toBe('checkbox');
    expect(field('/tags').querySelectorAll('.item')).toHaveLength(1);
    expect(field('/address').querySelector('legend')?.textContent).toContain('address');
    expect(field('/address/city')).not.toBeNull();
    expect(control('/extra').tagName).toBe('TEXTAREA');
    // Nothing is flagged before the person has touched a field.
    expect(messages()).toEqual([]);
  });

  it('shows inline messages for touched fields, then every one on submit, and clears them once fixed', () => {
    const form = render(schema, initialValue(schema) as Record<string, unknown>);
    type('/name', 'A');
    expect(messages()).toEqual(['name must NOT have fewer than 2 characters']);
    expect(control('/name').getAttribute('aria-invalid')).toBe('true');
    form.submit();
    expect(messages()).toEqual(expect.arrayContaining(['name must NOT have fewer than 2 characters', 'count is required', 'tags 1 must be string', 'city is required']));
    type('/name', 'Ada');
    type('/count', '3');
    type('/tags/0', 'x');
    type('/address/city', 'Paris');
    type('/address/zip', 'abc');
    expect(messages()).toEqual(['zip must match pattern "^[0-9]{5}$"']);
    type('/address/zip', '75001');
    expect(messages()).toEqual([]);
    expect(form.problems().size).toBe(0);
  });

  it('binds what the person enters into the value, arrays and raw JSON included', () => {
    const form = render(schema, initialValue(schema) as Record<string, unknown>);
    type('/name', 'Ada');
    type('/count', '4');
    const select = control('/language') as unknown as HTMLSelectElement;
    select.value = '1';
    select.dispatchEvent(new Event('change', { bubbles: true }));
    const loud = control('/loud');
    loud.checked = true;
    loud.dispatchEvent(new Event('change', { bubbles: true }));
    flushSync();
    type('/tags/0', 'a');
    (field('/tags').querySelector(':scope > button') as HTMLButtonElement).click();
    flushSync();
    type('/tags/1', 'b');
    type('/address/city', 'Paris');
    type('/extra', '42');
    expect(cleaned(schema, form.value())).toEqual({ name: 'Ada', language: 'fr', count: 4, ratio: 0.5, loud: true, tags: ['a', 'b'], address: { city: 'Paris' }, extra: 42 });
    expect(form.problems().size).toBe(0);
    // Removing an item and breaking the JSON are both reported.
    (field('/tags').querySelector('.item button') as HTMLButtonElement).click();
    flushSync();
    expect(form.value().tags).toEqual(['b']);
    type('/extra', '{oops');
    expect(messages()).toContainEqual(expect.stringMatching(/^extra: not valid JSON/));
  });
});
