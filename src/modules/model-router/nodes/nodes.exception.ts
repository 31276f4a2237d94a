import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';

export enum NodesErrorCode {
  /** No node of the pool has this id (nodes come only from OLLAMA_URLS / OLLAMA_DNS). */
  NodeNotFound = 'NODE_NOT_FOUND',
  InvalidNodeId = 'NODE_INVALID_ID',
  /** The node failed its last health check: nothing is sent to it. */
  NodeUnhealthy = 'NODE_UNHEALTHY',
  /** Load or unload of a model the node does not have on disk: pull it first. */
  ModelNotPulled = 'NODE_MODEL_NOT_PULLED',
  /** A host-qualified name whose registry is not in OLLAMA_PULL_REGISTRIES. */
  RegistryNotAllowed = 'NODE_REGISTRY_NOT_ALLOWED',
  /** The node refused the request itself (4xx other than an unknown model). */
  OperationRejected = 'NODE_OPERATION_REJECTED',
  /** The node failed: connection lost, 5xx, or an error reported in the pull stream. */
  OperationFailed = 'NODE_OPERATION_FAILED',
  OperationTimeout = 'NODE_OPERATION_TIMEOUT',
  /** The caller went away (closed the connection) and the operation was cancelled. */
  OperationAborted = 'NODE_OPERATION_ABORTED',
  /** The node's provider cannot pull, load or unload (not an Ollama node). */
  Unsupported = 'NODE_UNSUPPORTED',
}

const STATUS: Record<NodesErrorCode, HttpStatus> = {
  [NodesErrorCode.NodeNotFound]: HttpStatus.NOT_FOUND,
  [NodesErrorCode.InvalidNodeId]: HttpStatus.BAD_REQUEST,
  [NodesErrorCode.NodeUnhealthy]: HttpStatus.SERVICE_UNAVAILABLE,
  [NodesErrorCode.ModelNotPulled]: HttpStatus.CONFLICT,
  [NodesErrorCode.RegistryNotAllowed]: HttpStatus.BAD_REQUEST,
  [NodesErrorCode.OperationRejected]: HttpStatus.BAD_REQUEST,
  [NodesErrorCode.OperationFailed]: HttpStatus.BAD_GATEWAY,
  [NodesErrorCode.OperationTimeout]: HttpStatus.GATEWAY_TIMEOUT,
  [NodesErrorCode.OperationAborted]: 499 as HttpStatus,
  [NodesErrorCode.Unsupported]: HttpStatus.NOT_IMPLEMENTED,
};

export class NodesException extends AppException {
  constructor(code: NodesErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, STATUS[code], message, details);
  }
}
