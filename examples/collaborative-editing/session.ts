// Ada and Bob edit one file at the same time; each types without waiting for the other.
import { createClient } from 'switchboard/client';
import { connectOtClient, type OtClient } from '../../src/services/ot/index.js';
import { editingApi } from './server.js';

/** Resolves once `check` holds, polling each event loop turn; rejects after `timeoutMs`. */
function when(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error(`no ${what} within ${timeoutMs} ms`));
      else setImmediate(poll);
    };
    poll();
  });
}

const settled = (docs: OtClient[]) => () =>
  docs.every((doc) => doc.state === 'synchronized' && doc.version === docs[0]?.version);

/** Ada and Bob edit `path` together; returns what happened, line by line. */
export async function session(url: string, path: string): Promise<string[]> {
  const transcript: string[] = [];
  const ada = createClient({ protocol: editingApi, url, credentials: { name: 'Ada', userId: 1 } });
  const bob = createClient({ protocol: editingApi, url, credentials: { name: 'Bob', userId: 2 } });
  try {
    const adaChannel = await ada.openChannel('ot', { name: path });
    const bobChannel = await bob.openChannel('ot', { name: path });
    const adaDoc = await connectOtClient(adaChannel, { path });
    const bobDoc = await connectOtClient(bobChannel, {
      path,
      onRemote: (ops) => transcript.push(`Bob's editor applies ${JSON.stringify(ops)}`),
    });
    transcript.push(`both open ${path} at version ${adaDoc.version}: ${JSON.stringify(adaDoc.text)}`);

    // Bob shows where he is; Ada's editor would draw his caret.
    const caret = new Promise<string>((resolve) =>
      adaChannel.on('cursor', (c) => resolve(`Ada sees ${c.user.name}'s caret at ${c.position}`)),
    );
    await bobChannel.call('cursor', { position: 0, selectionStart: 0, selectionEnd: 0 });
    transcript.push(await caret);

    // At the same moment: Ada adds two lines at the end, Bob adds a title and then renames it.
    adaDoc.edit([{ skip: Array.from(adaDoc.text).length }, { insert: 'Bread\n' }]);
    bobDoc.edit([{ insert: '# Shopping\n' }]);
    adaDoc.edit([{ skip: Array.from(adaDoc.text).length }, { insert: 'Eggs 🥚\n' }]);
    bobDoc.edit([{ skip: 2 }, { delete: 8 }, { insert: 'Groceries' }]);
    await when(settled([adaDoc, bobDoc]), 'agreement');

    transcript.push(`Ada has version ${adaDoc.version}: ${JSON.stringify(adaDoc.text)}`);
    transcript.push(`Bob has version ${bobDoc.version}: ${JSON.stringify(bobDoc.text)}`);
    const status = await adaChannel.call('status', {});
    transcript.push(
      `the server has crc32 ${status.crc32}; Bob's caret moved to ${status.cursors[0]?.position}`,
    );
    // The last session to leave disposes of the document, which waits for its last save.
    await adaChannel.close('disconnect');
    await bobChannel.close();
  } finally {
    ada.close();
    bob.close();
  }
  return transcript;
}
