import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEnum, IsOptional } from 'class-validator';
import { SignupMode } from 'src/modules/settings/settings.service';

export class InstanceSettingsDto {
  @ApiProperty({ enum: SignupMode, enumName: 'SignupMode', description: 'Whether anyone may register after the first user' })
  signupMode: SignupMode;
}

export class UpdateInstanceSettingsDto {
  @ApiPropertyOptional({ enum: SignupMode, enumName: 'SignupMode' })
  @IsOptional()
  @IsEnum(SignupMode)
  signupMode?: SignupMode;
}
