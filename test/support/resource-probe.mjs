// A test-only door into a media server process, loaded with `node --expose-gc --import <this file>` and an
// IPC channel (see NodeOptions.probe in media-process.ts). Asked {probe: 'resources'}, it collects garbage
// and answers with the process's active handles and requests (process.getActiveResourcesInfo()) and its
// heap after GC. The channel is unref'd: it never keeps the server alive. Never loaded in production.
if (process.send) {
  process.on('message', (message) => {
    if (!message || message.probe !== 'resources') return;
    globalThis.gc?.();
    globalThis.gc?.();
    process.send?.({
      probe: 'resources',
      id: message.id,
      resources: process.getActiveResourcesInfo(),
      heapUsed: process.memoryUsage().heapUsed,
    });
  });
  process.channel?.unref();
}
