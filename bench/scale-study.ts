export async function benchScaleStudy(): Promise<void> {}
