// The chart checks are only as good as the renderer: these pin its output to what Go's text/template
// and Helm produce for the same input (expected strings written from Go's documented behaviour).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChartRenderer, TemplateError, type RenderContext } from './go-template.js';

function render(template: string, values: Record<string, unknown> = {}, helpers = ''): string {
  const r = new ChartRenderer();
  if (helpers) r.add('templates/_helpers.tpl', helpers);
  r.add('templates/t.yaml', template);
  const ctx: RenderContext = {
    Values: values,
    Release: { Name: 'rel', Namespace: 'ns', Service: 'Helm' },
    Chart: { Name: 'tw', Version: '1.2.3', AppVersion: '0.1.0' },
  };
  return r.renderAll(ctx).get('templates/t.yaml') as string;
}

describe('Go template subset', () => {
  it('trims whitespace on the side of a dash, newlines included', () => {
    assert.equal(render('a:\n  {{- " b" }}\nc'), 'a: b\nc');
    assert.equal(render('x {{ 1 -}}\n\n  y'), 'x 1y');
    assert.equal(render('{{- /* comment */ -}}\nz'), 'z');
  });

  it('reads values, release and chart fields, and fails on a missing one instead of printing <no value>', () => {
    assert.equal(render('{{ .Values.a.b }}-{{ .Release.Name }}-{{ .Chart.Version }}', { a: { b: 7 } }), '7-rel-1.2.3');
    assert.throws(() => render('{{ .Values.nope }}'), TemplateError);
    assert.throws(() => render('{{ .Values.a.b }}'), /nil pointer evaluating \.Values\.a\.b/);
  });

  it('runs if / else if / else and with by Go truthiness, with rebinding the dot', () => {
    const t = '{{ if .Values.a }}A{{ else if .Values.b }}B{{ else }}C{{ end }}';
    assert.equal(render(t, { a: 1 }), 'A');
    assert.equal(render(t, { a: 0, b: 'x' }), 'B');
    assert.equal(render(t, { a: [], b: {} }), 'C');
    assert.equal(render('{{ with .Values.s }}<{{ . }}>{{ end }}', { s: 'v' }), '<v>');
    assert.equal(render('{{ with .Values.s }}<{{ . }}>{{ end }}', { s: '' }), '');
    assert.equal(render('{{ if and .Values.a (not .Values.b) }}yes{{ end }}', { a: true, b: false }), 'yes');
  });

  it('pipes the value as the last argument: default, quote, nindent, toYaml', () => {
    assert.equal(render('{{ .Values.tag | default .Chart.AppVersion }}', { tag: '' }), '0.1.0');
    assert.equal(render('{{ .Values.tag | default "x" | quote }}', { tag: 'a"b' }), '"a\\"b"');
    assert.equal(render('k:\n  {{- toYaml .Values.m | nindent 2 }}', { m: { a: 1, b: [true, 'x'] } }), 'k:\n  a: 1\n  b:\n    - true\n    - x');
    assert.equal(render('{{ printf "%s-%s" .Chart.Name .Chart.Version | trunc 5 }}'), 'tw-1.');
  });

  it('includes defined templates with a dict as their dot', () => {
    const helpers = '{{- define "lbl" -}}\nname: {{ .n }}\nrole: {{ .r.Release.Name }}\n{{- end }}';
    assert.equal(render('m:\n  {{- include "lbl" (dict "n" "x" "r" .) | nindent 2 }}', {}, helpers), 'm:\n  name: x\n  role: rel');
  });

  it('omit copies a map without the named keys; fail stops the rendering with its message', () => {
    const values = { c: { a: 1, b: 2, s: { x: 1 } } };
    assert.equal(render('{{ toYaml (omit .Values.c "s" "b") }}|{{ toYaml .Values.c.s }}', values), 'a: 1|x: 1');
    assert.equal(render('{{ if eq .Values.a .Values.b }}{{ fail "same id" }}{{ end }}ok', { a: 'x', b: 'y' }), 'ok');
    assert.throws(() => render('{{ if eq .Values.a .Values.b }}{{ fail "same id" }}{{ end }}ok', { a: 'x', b: 'x' }), /fail: same id/);
  });

  it('refuses what is outside the subset, so the chart stays checkable', () => {
    assert.throws(() => render('{{ range .Values.l }}{{ . }}{{ end }}', { l: [1] }), /outside the supported template subset/);
    assert.throws(() => render('{{ lookup "v1" "Secret" "ns" "x" }}'), /outside the supported subset/);
    assert.throws(() => render('{{ if .Values.a }}open'), /not closed/);
    assert.throws(() => render('{{ .Values.m }}', { m: { a: 1 } }), /without toYaml/);
  });
});
