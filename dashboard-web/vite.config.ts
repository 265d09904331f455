import { defineConfig } from 'vite';

// The Rust `serving` crate serves dist/ at `/`, same origin as the API and socket.io,
// so the app uses relative URLs only. For `npm run dev`, API and socket.io calls are
// proxied to LT_API (the mock server by default: `npm run mock`).
const api = process.env.LT_API ?? 'http://127.0.0.1:8787';

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api': { target: api, changeOrigin: true },
      '/socket.io': { target: api, changeOrigin: true, ws: true },
    },
  },
});
