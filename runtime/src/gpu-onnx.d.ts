/** `import model from './model.onnx'`: at build time the CLI uploads the file; the value is its digest (`sha256:<hex>`). */
declare module '*.onnx' {
  const digest: string;
  export default digest;
}
