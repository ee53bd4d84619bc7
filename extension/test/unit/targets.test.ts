import * as assert from 'node:assert/strict';
import { chooseTarget, parseTargets, remoteSpec, targetToSetting, TargetConfigError, type Target } from '../../src/targets';

const t = (over: Partial<Target> = {}): Target => ({ name: 'a', host: 'h', port: 9031, module: 'm', remotePath: '', excludes: [], uploadOnSave: false, ...over });

describe('blit.targets parsing', () => {
  it('accepts a full entry and fills defaults for a minimal one', () => {
    const { targets, errors } = parseTargets([
      { name: 'prod', host: 'srv.example', port: 9100, module: 'www', remotePath: '/site/current/', excludes: ['*.log'], uploadOnSave: true },
      { name: 'min', host: '10.0.0.5', module: 'data' },
    ]);
    assert.deepEqual(errors, []);
    assert.deepEqual(targets[0], { name: 'prod', host: 'srv.example', port: 9100, module: 'www', remotePath: 'site/current', excludes: ['*.log'], uploadOnSave: true });
    assert.deepEqual(targets[1], { name: 'min', host: '10.0.0.5', port: 9031, module: 'data', remotePath: '', excludes: ['.vscode', '.git', '.DS_Store'], uploadOnSave: false });
  });

  it('a target without excludes leaves out .vscode, .git and .DS_Store (the SFTP default); one with excludes, even [], gets exactly its list', () => {
    const { targets } = parseTargets([
      { name: 'none', host: 'h', module: 'm' },
      { name: 'nulled', host: 'h', module: 'm', excludes: null },
      { name: 'empty', host: 'h', module: 'm', excludes: [] },
      { name: 'own', host: 'h', module: 'm', excludes: ['*.log'] },
    ]);
    assert.deepEqual(targets.map((x) => x.excludes), [['.vscode', '.git', '.DS_Store'], ['.vscode', '.git', '.DS_Store'], [], ['*.log']]);
    // the wizard's entry (no excludes) is written without the key, an explicit [] with it
    assert.equal('excludes' in targetToSetting(targets[0]!), false);
    assert.deepEqual(targetToSetting(targets[2]!).excludes, []);
    assert.deepEqual(parseTargets([targetToSetting(targets[2]!)]).targets[0]!.excludes, []);
  });

  it('names the entry and the field at fault, and keeps the valid entries', () => {
    const { targets, errors } = parseTargets([
      { name: 'ok', host: 'h', module: 'm' },
      { name: 'badport', host: 'h', module: 'm', port: 70000 },
      { host: 'h', module: 'm' },
      { name: 'esc', host: 'h', module: 'm', remotePath: 'a/../../etc' },
      { name: 'mod', host: 'h', module: 'has space' },
      { name: 'ex', host: 'h', module: 'm', excludes: 'notalist' },
      { name: 'save', host: 'h', module: 'm', uploadOnSave: 'yes' },
      'string entry',
      { name: 'ok', host: 'h2', module: 'm' },
    ]);
    assert.deepEqual(targets.map((x) => x.name), ['ok']);
    assert.deepEqual(
      errors.map((e) => e.field),
      ['blit.targets[1].port', 'blit.targets[2].name', 'blit.targets[3].remotePath', 'blit.targets[4].module', 'blit.targets[5].excludes', 'blit.targets[6].uploadOnSave', 'blit.targets[7]', 'blit.targets[8].name'],
    );
    assert.match(errors[0]!.message, /blit\.targets\[1\]\.port: must be an integer from 1 to 65535 \(got 70000\)/);
    assert.match(errors[7]!.message, /duplicate target name "ok"/);
    assert.ok(errors.every((e) => e instanceof TargetConfigError));
  });

  it('refuses an unknown or misspelt key (a misspelt remotePath would push to the module root) and a port written into host', () => {
    const { targets, errors } = parseTargets([
      { name: 'typo', host: 'h', module: 'm', remotepath: 'site' },
      { name: 'typo2', host: 'h', module: 'm', remotPath: 'site' },
      { name: 'other', host: 'h', module: 'm', colour: 'red' },
      { name: 'hp', host: 'srv:9031', module: 'm' },
      { name: 'v6', host: '::1', module: 'm' },
      { name: 'v6b', host: '[fe80::1]', module: 'm' },
    ]);
    assert.deepEqual(targets.map((x) => x.name), ['v6', 'v6b']);
    assert.deepEqual(errors.map((e) => e.field), ['blit.targets[0].remotepath', 'blit.targets[1].remotPath', 'blit.targets[2].colour', 'blit.targets[3].host']);
    assert.match(errors[0]!.message, /is not a target setting \(did you mean "remotePath"\?\)/);
    assert.match(errors[1]!.message, /did you mean "remotePath"/);
    assert.doesNotMatch(errors[2]!.message, /did you mean/);
    assert.match(errors[3]!.message, /without a port; put the port in "port" \(got "srv:9031"\)/);
  });

  it('accepts a numeric port string and rejects a non-array setting', () => {
    assert.equal(parseTargets([{ name: 'a', host: 'h', module: 'm', port: '9200' }]).targets[0]!.port, 9200);
    const { targets, errors } = parseTargets({ name: 'x' });
    assert.equal(targets.length, 0);
    assert.match(errors[0]!.message, /^blit\.targets: must be an array/);
    assert.deepEqual(parseTargets(undefined), { targets: [], errors: [] });
  });

  it('formats the remote spec blitd takes, with IPv6 in brackets', () => {
    assert.equal(remoteSpec(t({ host: 'srv', port: 9031, module: 'www', remotePath: 'site' })), 'srv:9031:/www/site');
    assert.equal(remoteSpec(t({ host: 'srv', module: 'www' }), true), 'srv:9031:/www/');
    const v6 = parseTargets([{ name: 'v6', host: '[::1]', module: 'm', port: 9 }]).targets[0]!;
    assert.equal(v6.host, '::1');
    assert.equal(remoteSpec(v6), '[::1]:9:/m');
  });

  it('round-trips through the settings form written by Add Remote Target', () => {
    const orig = t({ name: 'x', excludes: ['node_modules'], uploadOnSave: true, remotePath: 'p/q' });
    assert.deepEqual(parseTargets([targetToSetting(orig)]).targets[0], orig);
  });
});

describe('target selection', () => {
  const a = t({ name: 'a' });
  const b = t({ name: 'b', uploadOnSave: true });
  it('uses the only target, asks when there are several, explains when there is none', () => {
    assert.deepEqual(chooseTarget([a]), { kind: 'one', target: a });
    assert.deepEqual(chooseTarget([a, b]), { kind: 'ask', candidates: [a, b] });
    const none = chooseTarget([]);
    assert.equal(none.kind, 'none');
    assert.match((none as { message: string }).message, /Add Remote Target/);
  });
  it('honours a requested name and a filter', () => {
    assert.deepEqual(chooseTarget([a, b], 'b'), { kind: 'one', target: b });
    assert.equal(chooseTarget([a, b], 'zzz').kind, 'none');
    assert.deepEqual(chooseTarget([a, b], undefined, (x) => x.uploadOnSave), { kind: 'one', target: b });
  });
});
