import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { InstanceSetting } from 'src/modules/settings/instance-setting.entity';
import { SettingsController } from 'src/modules/settings/settings.controller';
import { SettingsService } from 'src/modules/settings/settings.service';

@Module({
  imports: [TypeOrmModule.forFeature([InstanceSetting])],
  controllers: [SettingsController],
  providers: [SettingsService],
  exports: [SettingsService],
})
export class SettingsModule {}
