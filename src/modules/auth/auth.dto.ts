import { Field, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, Length, MaxLength, MinLength } from 'class-validator';
import { Permission } from 'src/common/auth/permission.enum';
import { UserDto } from 'src/modules/users/users.dto';

const normaliseEmail = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value);

@InputType('RegisterInput')
export class RegisterDto {
  @ApiProperty({ example: 'ada@example.com' })
  @Field()
  @Transform(normaliseEmail)
  @IsEmail()
  @MaxLength(320)
  email: string;

  @ApiProperty({ minLength: 10, maxLength: 256 })
  @Field()
  @IsString()
  @Length(10, 256, { message: 'password must be between 10 and 256 characters' })
  password: string;

  @ApiProperty({ example: 'Ada Lovelace' })
  @Field()
  @IsString()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @Length(1, 120)
  name: string;
}

@InputType('LoginInput')
export class LoginDto {
  @ApiProperty()
  @Field()
  @Transform(normaliseEmail)
  @IsEmail()
  @MaxLength(320)
  email: string;

  @ApiProperty()
  @Field()
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  password: string;
}

@InputType('RefreshInput')
export class RefreshDto {
  @ApiProperty({ description: 'The refresh token from login or the previous refresh; it is single-use' })
  @Field()
  @IsString()
  @MaxLength(200)
  refreshToken: string;
}

@ObjectType('TokenPair')
export class TokenPairDto {
  @ApiProperty() @Field() accessToken: string;
  @ApiProperty() @Field() refreshToken: string;
  @ApiProperty({ description: 'Seconds until the access token expires' }) @Field(() => Int) expiresIn: number;
  @ApiProperty({ enum: ['Bearer'] }) @Field(() => String) tokenType: 'Bearer';
}

@ObjectType('Me')
export class MeDto {
  @ApiProperty({ type: UserDto }) @Field(() => UserDto) user: UserDto;
  @ApiProperty({ format: 'uuid', description: 'The workspace this request acted in' })
  @Field(() => ID, { description: 'The workspace this request acted in' })
  workspaceId: string;
  @ApiProperty({ enum: Permission, enumName: 'Permission', isArray: true }) @Field(() => [Permission]) permissions: Permission[];
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'Set when called with an API key' })
  @Field(() => ID, { nullable: true, description: 'Set when called with an API key' })
  apiKeyId: string | null;
}
