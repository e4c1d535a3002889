// The renderer's way to the main process: pick the bridge, wrap it into the typed API.
export { ApiError, createApi } from './client';
export {
  chooseBridge,
  createHttpBridge,
  createUnavailableBridge,
  parseEvent,
  type BridgeHost,
  type HttpBridgeOptions,
} from './bridge';
