// Lint: ESLint's recommended rules plus typescript-eslint's type-aware rules.
// Effect-specific diagnostics come from @effect/language-service during typecheck.
import js from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["**/node_modules/**", ".pylon/**", ".kafka/**", "packages/*/src/gen/**", "packages/web/dist/**", "packages/web/test-results/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-floating-promises": "error",
      "require-yield": "off",
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-redeclare": "off"
    }
  },
  { files: ["**/*.js"], ...tseslint.configs.disableTypeChecked }
)
