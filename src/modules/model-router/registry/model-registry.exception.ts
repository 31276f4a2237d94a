import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';

export enum ModelRegistryErrorCode {
  ModelNotFound = 'MODEL_NOT_FOUND',
  UpstreamNotFound = 'MODEL_UPSTREAM_NOT_FOUND',
  NameTaken = 'MODEL_NAME_TAKEN',
  UpstreamInUse = 'MODEL_UPSTREAM_IN_USE',
  InvalidUpstreamUrl = 'MODEL_INVALID_UPSTREAM_URL',
  InvalidModel = 'MODEL_INVALID',
}

const STATUS: Record<ModelRegistryErrorCode, HttpStatus> = {
  [ModelRegistryErrorCode.ModelNotFound]: HttpStatus.NOT_FOUND,
  [ModelRegistryErrorCode.UpstreamNotFound]: HttpStatus.NOT_FOUND,
  [ModelRegistryErrorCode.NameTaken]: HttpStatus.CONFLICT,
  [ModelRegistryErrorCode.UpstreamInUse]: HttpStatus.CONFLICT,
  [ModelRegistryErrorCode.InvalidUpstreamUrl]: HttpStatus.BAD_REQUEST,
  [ModelRegistryErrorCode.InvalidModel]: HttpStatus.BAD_REQUEST,
};

export class ModelRegistryException extends AppException {
  constructor(code: ModelRegistryErrorCode, message: string) {
    super(code, STATUS[code], message);
  }
}
