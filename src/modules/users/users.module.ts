import { Module } from '@nestjs/common';
import { AdminUsersController } from 'src/modules/users/admin-users.controller';
import { AdminUsersResolver } from 'src/modules/users/admin-users.resolver';
import { UsersRepository } from 'src/modules/users/users.repository';
import { UsersService } from 'src/modules/users/users.service';

@Module({
  controllers: [AdminUsersController],
  providers: [UsersRepository, UsersService, AdminUsersResolver],
  exports: [UsersRepository, UsersService],
})
export class UsersModule {}
