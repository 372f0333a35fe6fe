// The tinyarch extension: the grammar and the language configuration come from package.json;
// this file starts the language server, `tinyarch lsp`, over stdio for `.model` files.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function serverPath() {
  const configured = vscode.workspace.getConfiguration('tinyarch').get('server.path');
  return configured && configured.trim() !== '' ? configured.trim() : 'tinyarch';
}

async function start(watcher) {
  const command = serverPath();
  const executable = { command, args: ['lsp'], transport: TransportKind.stdio };
  try {
    client = new LanguageClient(
      'tinyarch',
      'tinyarch language server',
      { run: executable, debug: executable },
      {
        documentSelector: [{ scheme: 'file', language: 'tinyarch-model' }],
        // Included files (`use "x.model"`) change what a model means.
        synchronize: { fileEvents: watcher },
      }
    );
    await client.start();
  } catch (err) {
    const message = err && err.message ? err.message : String(err);
    vscode.window.showErrorMessage(
      `tinyarch: could not start \`${command} lsp\` (${message}). ` +
        'Set `tinyarch.server.path` to the tinyarch executable; highlighting works without it.'
    );
    client = undefined;
  }
}

async function stop() {
  if (client) {
    const c = client;
    client = undefined;
    await c.stop();
  }
}

async function activate(context) {
  const watcher = vscode.workspace.createFileSystemWatcher('**/*.model');
  const restart = async () => {
    await stop();
    await start(watcher);
  };
  context.subscriptions.push(
    watcher,
    vscode.commands.registerCommand('tinyarch.server.restart', restart),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('tinyarch.server.path')) return restart();
    })
  );
  await start(watcher);
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
