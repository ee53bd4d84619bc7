import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfig } from '../../src/daemon/config';
import { BlitError } from '../../src/engine/errors';
import { runBlitd, startDaemon, tempDir, writeConfig } from './harness';

describe('blitd config', () => {
  let t: ReturnType<typeof tempDir>;
  let modDir: string;
  before(() => {
    t = tempDir('blit-config-');
    modDir = path.join(t.dir, 'data');
    fs.mkdirSync(modDir);
    fs.writeFileSync(path.join(t.dir, 'a-file'), '');
  });
  after(() => t.cleanup());

  const file = (): string => path.join(t.dir, 'blitd.toml');
  function refused(text: string, expected: string): void {
    assert.throws(() => parseConfig(text, file()), (e: unknown) => {
      assert.ok(e instanceof BlitError);
      assert.equal(e.code, 'InvalidConfig');
      assert.ok(e.message.startsWith(`${file()}:${expected}`), `got: ${e.message}\nwant prefix: ${file()}:${expected}`);
      return true;
    });
  }

  it('reads modules, resolving relative paths against the config file', () => {
    const c = parseConfig(`bind = "0.0.0.0"\nport = 9100\n\n[[module]]\nname = "data"\npath = "data"\nread_only = true\ncomment = "backups"\n`, file());
    assert.equal(c.bind, '0.0.0.0');
    assert.equal(c.port, 9100);
    assert.deepEqual(c.modules, [{ name: 'data', path: modDir, readOnly: true, comment: 'backups' }]);
  });

  it('names FILE:LINE: key for every kind of mistake', () => {
    refused(`[[module]]\nname = "a"\npath = "data"\nreadonly = true\n`, '4: readonly: unknown key in [[module]]');
    refused(`colour = "red"\n`, '1: colour: unknown key');
    refused(`port = "9031"\n`, '1: port: expected an integer port');
    refused(`port = 70000\n`, '1: port: expected an integer port');
    refused(`[[module]]\nname = "a"\npath = "data"\nread_only = "yes"\n`, '4: read_only: expected true or false');
    refused(`[[module]]\nname = "a"\n`, '1: path: missing');
    refused(`[[module]]\npath = "data"\n`, '1: name: missing');
    refused(`[[module]]\nname = "a"\npath = "data"\n\n[[module]]\nname = "a"\npath = "data"\n`, '6: name: duplicate module name');
    refused(`[[module]]\nname = "a"\npath = "does-not-exist"\n`, '3: path: ');
    refused(`[[module]]\nname = "a"\npath = "a-file"\n`, '3: path: ');
    refused(`[[module]]\nname = "a b"\npath = "data"\n`, '2: name: ');
    refused(`[[module]]\nname = "a"\npath = \n`, '3: syntax: ');
  });

  it('reads the data-plane keys and refuses out-of-range values naming the line', () => {
    const c = parseConfig(`data_token_ttl_ms = 800\ndata_streams = 2\ndata_port = 9032\n`, file());
    assert.equal(c.dataTokenTtlMs, 800);
    assert.equal(c.dataStreams, 2);
    assert.equal(c.dataPort, 9032);
    refused(`port = 1\ndata_token_ttl_ms = 10\n`, '2: data_token_ttl_ms: expected an integer 50..600000');
    refused(`data_streams = 0\n`, '1: data_streams: expected an integer 1..16');
    refused(`data_port = "x"\n`, '1: data_port: expected an integer 0..65535');
  });

  it('stops the daemon at start with exit code 1 and FILE:LINE: key: cause on stderr', async () => {
    const cfg = writeConfig(t.dir, `[[module]]\nname = "a"\npath = "data"\n\n[[module]]\nname = "b"\npath = "nowhere"\n`, 'bad.toml');
    const r = await runBlitd(['--config', cfg, '--port', '0']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${cfg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:7: path: '.*nowhere' does not exist`));
    assert.doesNotMatch(r.stdout, /listening/);
  });

  it('exports --root as module "default" when the config has no modules', async () => {
    const d = await startDaemon(['--port', '0', '--root', modDir]);
    try {
      assert.ok(d.port > 0);
    } finally {
      assert.equal(await d.stop(), 0);
    }
    assert.match(d.stderr(), /modules=default/);
  });

  it('warns when it falls back to the working directory', async () => {
    const d = await startDaemon(['--port', '0'], { cwd: modDir });
    await d.stop();
    assert.match(d.stderr(), /WARN no modules configured and no --root: exporting the working directory/);
  });
});
