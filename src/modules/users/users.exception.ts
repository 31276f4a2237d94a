import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';

export enum UsersErrorCode {
  LastAdmin = 'USERS_LAST_ADMIN',
  SelfModification = 'USERS_SELF_MODIFICATION',
}

const STATUS: Record<UsersErrorCode, HttpStatus> = {
  [UsersErrorCode.LastAdmin]: HttpStatus.CONFLICT,
  [UsersErrorCode.SelfModification]: HttpStatus.CONFLICT,
};

export class UsersException extends AppException {
  constructor(code: UsersErrorCode, message: string) {
    super(code, STATUS[code], message);
  }
}
