/// <reference types="vitest/config" />
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

// The gateway embeds dist/ with go:embed, which needs the directory to exist even before a
// build: dist/.gitkeep is committed, so it is put back after each build empties the directory.
function keepDist(): Plugin {
  return {
    name: "iom-keep-dist",
    apply: "build",
    closeBundle() {
      writeFileSync(resolve(import.meta.dirname, "dist/.gitkeep"), "");
    },
  };
}

const admin = process.env.IOM_ADMIN_URL ?? "http://127.0.0.1:8081";

export default defineConfig({
  plugins: [react(), tailwindcss(), keepDist()],
  resolve: { alias: { "@": resolve(import.meta.dirname, "src") } },
  server: {
    proxy: {
      "/api": { target: admin, changeOrigin: true },
      "/metrics": { target: admin, changeOrigin: true },
      "/healthz": { target: admin, changeOrigin: true },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
    rolldownOptions: {
      output: {
        // React Flow and Recharts load only with the pages that use them (imported lazily), so
        // the first page does not wait for them. React Flow gets a chunk of its own; Recharts
        // stays in the analytics page's chunk (a group of its own breaks its module order).
        codeSplitting: {
          includeDependenciesRecursively: false,
          groups: [
            { name: "react-flow", test: /node_modules[\\/]@xyflow[\\/]/ },
          ],
        },
      },
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
