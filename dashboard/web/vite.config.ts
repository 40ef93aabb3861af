import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build goes to ../dist, which the Go package dashboard embeds and
// serves at /dashboard/. It is committed: `make run` needs no Node.
export default defineConfig({
  base: "/dashboard/",
  plugins: [react()],
  build: {
    outDir: "../dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
});
