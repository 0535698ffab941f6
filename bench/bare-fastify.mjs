// Baseline (a): a bare fastify server that reads the body and answers 202, the ceiling for any event server here.
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 3 * 1024 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.post('/*', async (_req, reply) => reply.code(202).send());
await app.listen({ host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ msg: 'listening', address: `http://127.0.0.1:${app.server.address().port}` }));
