'use strict';
// Runs the Node snippet of the README's "Clients" section, as written, against a live attune-server
// hosting nothing yet. Only the address and the build folder are substituted.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const h = require('./helpers');

function readmeBlock(language) {
  const text = fs.readFileSync(path.join(h.REPO, 'README.md'), 'utf8');
  let section = text.slice(text.indexOf('\n## Clients\n'));
  section = section.slice(0, section.indexOf('\n## ', 1));
  const blocks = [...section.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
  assert.equal(blocks.length, 1, `README 'Clients' has ${blocks.length} \`\`\`${language} blocks, expected 1`);
  return blocks[0];
}

describe('readme', { timeout: 300000 }, () => {
  let server;
  before(async () => { server = await h.startServer(); });
  after(async () => { await server?.stop(); });

  it('runs the Node snippet as written', () => {
    const code = readmeBlock('js').replaceAll('localhost:50051', server.address).replaceAll("'build/", `'${h.BUILD}/`);
    let out;
    try {
      out = execFileSync(process.execPath, ['-e', code], { cwd: h.REPO, encoding: 'utf8', timeout: 300000 });
    } catch (e) {
      assert.fail(`snippet failed: ${e.stdout}${e.stderr}`);
    }
    assert.match(out, /classes \[\s*\d/);
    assert.match(out, /step \d+ \d/);
    assert.match(out, /published cnn-js version 2/);
    assert.match(out, /mean entropy \d/);
    assert.match(out, /NOT_FOUND: .*no-such-model/);
  });
});
