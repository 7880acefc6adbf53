// Hook for reading ID documents. No vendor is built in: a deployment plugs one in (cloud OCR, on-premise model).
// Results are only suggestions shown to staff; nothing is written from them without a person confirming.

export interface OcrResult {
  name?: string;
  idNumber?: string;
  address?: string;
}

export interface OcrProvider {
  readonly name: string;
  readIdCard(image: Buffer, contentType: string): Promise<OcrResult>;
}

export const noOcr: OcrProvider = { name: 'none', readIdCard: async () => ({}) };
